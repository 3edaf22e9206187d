# Capture: recording every lab network into one pcap each, and writing capture files.
# plan (what to record where), mode (tcpdump or the recording relays), recorder (the
# interface and the notes on what a pcap misses), tcpdump + size_limit (packet capture
# under a size limit), relay + relay_recorder (recording without packet capture),
# manager (capture sessions), pcap_writer + packet_build (writing pcap/pcapng frames).
