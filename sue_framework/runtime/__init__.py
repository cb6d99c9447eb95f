"""The runtime: where and how a fit computes. The device and seed of a fit, decided once
(`engine`), CPU threads and their sharing (`threads`), processes of a distributed run
(`distributed`), the training loop's parts (`nn`), progress bars (`progress`) and the rule by
which stages get their settings (`settings`).

May import the foundation (errors) only: every other floor builds on it.
"""
