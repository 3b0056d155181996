"""A run as local processes: monerod, wallet-rpc and tree-runner agents under one launcher."""
