"""Who the client is, as far as the network can tell."""

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

type Address = IPv4Address | IPv6Address
type Network = IPv4Network | IPv6Network


def parse_networks(networks: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ip_network(network, strict=False) for network in networks)


def client_address(peer: str | None, forwarded_for: str | None, trusted_proxies: Sequence[Network]) -> str:
    """The client's address: the peer, unless the peer is a trusted proxy.

    Behind trusted proxies, `X-Forwarded-For` is read from the right, skipping the
    proxies themselves; the first address not in `trusted_proxies` is the client.
    Anything a client wrote further left is never believed.
    """
    address = _parse(peer)
    if address is None:
        return peer or "unknown"
    if not forwarded_for or not _is_trusted(address, trusted_proxies):
        return str(address)
    for hop in reversed(forwarded_for.split(",")):
        hop_address = _parse(hop.strip())
        if hop_address is None:
            break
        address = hop_address
        if not _is_trusted(address, trusted_proxies):
            break
    return str(address)


def _parse(value: str | None) -> Address | None:
    try:
        return ip_address(value) if value else None
    except ValueError:
        return None


def _is_trusted(address: Address, trusted_proxies: Sequence[Network]) -> bool:
    return any(address in network for network in trusted_proxies)
