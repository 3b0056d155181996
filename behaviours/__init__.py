"""Leaf nodes for Monerosim behaviour trees.

`behaviours.base` holds the Leaf base class and the AgentContext the engine fills in;
`behaviours.registry` collects leaf classes (built-ins + the `monerosim.behaviours` entry-point
group); `behaviours.core` has the engine-level leaves that need no Monero.
"""
