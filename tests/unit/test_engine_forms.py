"""Values declared as the engine reports them back (components/engine_forms.py)."""
import pytest

from components.engine_forms import capability, default_gateway


@pytest.mark.parametrize(
    ("subnet", "ip_range", "gateway"),
    [
        ("172.29.0.0/24", None, "172.29.0.1"),
        ("10.77.0.0/16", None, "10.77.0.1"),
        ("10.211.0.0/24", "10.211.0.128/25", "10.211.0.128"),
        ("10.211.0.0/24", "10.211.0.0/25", "10.211.0.1"),
    ],
)
def test_default_gateway_is_the_first_address_of_the_pool_but_the_network_address(subnet, ip_range, gateway):
    assert default_gateway(subnet, ip_range) == gateway


@pytest.mark.parametrize(("declared", "stored"), [("SYS_RESOURCE", "CAP_SYS_RESOURCE"), ("net_admin", "CAP_NET_ADMIN"), ("ALL", "ALL"), ("CAP_CHOWN", "CAP_CHOWN")])
def test_capability_names_as_the_engine_stores_them(declared, stored):
    assert capability(declared) == stored

