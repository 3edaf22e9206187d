# Per-link capture: the capture plan, tcpdump capture and the recording relay.
