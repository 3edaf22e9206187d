# The user-agent role: composes, submits (SMTP + AUTH) and fetches (POP3) mail.
