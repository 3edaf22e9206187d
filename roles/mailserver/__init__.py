# The maillab mail server: one program run as sender-mta and receiver-mta.
#
# SMTP (25) and submission (587) in, an outgoing queue with a relay worker out,
# Maildir++ mailboxes read over POP3 (110), IMAP (143) and a webmail (HTTP, 80), and a
# FastAPI control agent on the management network. Protocol grammar lives in
# labctl.protocols (sans-I/O).
