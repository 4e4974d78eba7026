"""Sans-I/O JSON-RPC 2.0 core: wire Structs, the codec and the protocol state machine."""
