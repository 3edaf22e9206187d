# Runtime backends (compose, local) behind one interface, and how one is chosen.
