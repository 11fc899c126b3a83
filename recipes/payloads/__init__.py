"""What an agent leaves in Temporal's database: payloads by reference, encrypted, and the tools
around them (a codec server for the Web UI, key rotation, store pruning). See README.md."""
