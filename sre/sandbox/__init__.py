"""The sandbox: the platform on one machine, real servers on loopback, three DC tiers.

`supervisor` starts and stops processes; `launchers/` holds one module per
component; `sandbox` runs `up`, `down` and `status` over them.
"""
