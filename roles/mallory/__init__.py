# mallory: a host on the internet network outside both mail domains, for talking SMTP
# by hand (telnet, netcat, swaks, curl, s-nail are in the role image) and for the
# spoofing exercise. Her program only keeps the host up with a control agent.
