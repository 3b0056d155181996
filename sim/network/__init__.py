"""Network emulation for local runs: delaying TCP relays between monerods (links.py: the plan file
and the delivery model; pipes.py: the relaying; relay.py: the relay process and its handle)."""
