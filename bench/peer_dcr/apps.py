"""App config of the peer (its views and its task; it has no models of its own)."""

from django.apps import AppConfig


class PeerConfig(AppConfig):
    name = "bench.peer_dcr"
    label = "peer_dcr"
