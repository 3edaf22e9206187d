# What one mail-server process needs to know, derived from the lab model.
#
# MailServerSettings.for_role() reads LAB and addressing(runtime, instance): the role's
# domain and hostname, where each service listens (the role's address on each lab
# network, never the management one nor 0.0.0.0, so mail only ever crosses a captured
# link; standard ports in compose, local ports locally) and where the control agent
# listens (the management address only). The instance is MAILLAB_INSTANCE's. Tests replace fields
# with dataclasses.replace (e.g. port 0 for a free port). The lab options are the one
# field that changes while the server runs (change_options, from the control agent).
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from labctl.model import (
    MGMT,
    Addressing,
    Lab,
    LabInstance,
    Role,
    Runtime,
    User,
    addressing,
    current_instance,
)
from labctl.model.options import LabOptions
from labctl.model.zone import resolver_address

# The webmail is HTTP, served by uvicorn (server.py) rather than a stream listener.
WEBMAIL_SERVICE = "webmail"
HTTP_SERVICES = (WEBMAIL_SERVICE,)
DEFAULT_MAX_MESSAGE_SIZE = 10 * 1024 * 1024


@dataclass(frozen=True)
class Listener:
    """One listening socket: which service, on which address and port."""

    service: str
    host: str
    port: int


@dataclass(frozen=True)
class MailServerSettings:
    """Everything a mail-server process is configured with."""

    role: str
    data_dir: Path
    addressing: Addressing
    listeners: tuple[Listener, ...]
    control_host: str
    control_port: int
    resolver: tuple[str, int]  # the lab's name server (MX, A, SPF lookups ask it only)
    options: LabOptions = field(default_factory=LabOptions)
    dns_timeout_seconds: float = 3.0
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    # Destination SMTP port per peer role, when not the runtime's standard one (tests).
    peer_smtp_ports: dict[str, int] = field(default_factory=dict, hash=False)
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 30.0
    # The lab's TLS folder (labctl.tls_ca): lab CA and server certificates, made on first
    # use. None: no certificate, STARTTLS is not offered.
    tls_dir: Path | None = None
    pop3_idle_timeout_seconds: float = 600.0  # RFC 1939 autologout: at least 10 minutes
    imap_idle_timeout_seconds: float = 1800.0  # RFC 3501 5.4 autologout: at least 30 minutes
    # The limits of the SMTP and relay side.
    max_queue_lifetime_seconds: float = 600.0  # then a deferred message bounces (lab: short)
    max_connections: int = 100  # SMTP connections at once (25 and 587); more get 421 4.7.0
    idle_timeout_seconds: float = 300.0  # a silent client gets 421 4.4.2
    max_recipients: int = 100  # per transaction; more get 452 4.5.3
    # A message arriving with more Received headers is looping: 554 5.4.6. Postfix allows
    # 50 (hop_count_limit); the lab's two hops never come near 30, and a loop shows sooner.
    max_received_headers: int = 30
    auth_failure_delay_seconds: float = 1.0  # x failures so far, before a failed AUTH's reply

    @classmethod
    def for_role(
        cls, role: str, runtime: Runtime | str, data_dir: Path, behind_relay: bool = False,
        tls_dir: Path | None = None,
        instance: LabInstance | None = None,
    ) -> MailServerSettings:
        """Settings for `role` in `runtime`, storing under `data_dir`.

        `behind_relay`: a recording relay holds each service's usual port (local runtime
        without packet capture), so the service listens on its hidden port instead.
        """
        plan = addressing(runtime, instance=instance or current_instance())
        lab_role = plan.lab.role(role)
        if lab_role.program != "mailserver" or lab_role.domain is None:
            raise ValueError(f"role {role} is not a mail server (mail servers: "
                             f"{[r.name for r in plan.lab.mail_servers()]})")
        hosts = plan.lab_addresses(lab_role)
        port = plan.hidden_port if behind_relay else plan.port
        listeners = tuple(
            Listener(service, host, port(lab_role, service))
            for service in (s.name for s in lab_role.lab_services()) for host in hosts
        )
        return cls(
            role=role, data_dir=data_dir, addressing=plan, listeners=listeners,
            control_host=plan.address(lab_role, MGMT),
            control_port=plan.port(lab_role, "control"), tls_dir=tls_dir,
            resolver=resolver_address(plan), options=LabOptions.from_env(),
        )

    def change_options(self, options: LabOptions) -> None:
        """Switch to `options` while running. Every part reads settings.options when it
        decides (SPF per message, trust_lan and sender_login_match per command, relay
        concurrency per new connection), so what comes next goes by the new ones."""
        object.__setattr__(self, "options", options)  # the one field not fixed at start

    @property
    def lab(self) -> Lab:
        return self.addressing.lab

    @property
    def lab_role(self) -> Role:
        return self.lab.role(self.role)

    @property
    def domain(self) -> str:
        return self.lab_role.domain or ""

    @property
    def hostname(self) -> str:
        return self.lab_role.hostname

    @property
    def lab_addresses(self) -> list[str]:
        """The role's lab addresses, never the management one (its certificate's IP names)."""
        return self.addressing.lab_addresses(self.lab_role)

    def local_user(self, login: str) -> User | None:
        """The user of this server's domain named by a local part or a full address."""
        address = login.lower() if "@" in login else f"{login.lower()}@{self.domain}"
        for user in self.lab.users_of(self.domain):
            if user.address == address:
                return user
        return None

    def is_local_domain(self, address: str) -> bool:
        """True when `address` belongs to this server's domain."""
        return address.rpartition("@")[2].lower() == self.domain
