"""docs/configuration.md's table of keys is what Pulumi.yaml and the config parser say (`make config-reference`)."""
from __future__ import annotations

from scripts.config_reference import BEGIN, END, PAGE, generated, page_with


def test_the_configuration_reference_is_generated_from_pulumi_yaml_and_the_parser() -> None:
    page = PAGE.read_text()
    assert page == page_with(page, generated()), "docs/configuration.md is stale: run `make config-reference`"


def test_the_reference_lists_every_key_with_its_check() -> None:
    table = PAGE.read_text().split(BEGIN, 1)[1].split(END, 1)[0]
    assert "| `consulServers` | integer | `1` | one of `1`, `3`, `5` |" in table
    assert "| `registryPassword` | secret | none | a secret (`pulumi config set --secret`) |" in table
    assert "| `consulAcl` | boolean | `false` (local), `true` (cluster), `false` (sandbox) |" in table
