# Sans-I/O protocol grammar and server state machines (SMTP, POP3), h11 style.
#
# No sockets here: the mail server (roles/mailserver) and the traffic analyzer both
# feed bytes in and read events out. Use `smtp.*` and `pop3.*` as namespaces.
from labctl.protocols import pop3, smtp
from labctl.protocols.errors import ProtocolError

__all__ = ["ProtocolError", "pop3", "smtp"]
