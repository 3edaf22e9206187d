# The lab's name server: authoritative for the lab zone (labctl/model/zone.py) only.
