# One observer per protocol: a conversation's segments replayed into a Dialog (dialog.py).
