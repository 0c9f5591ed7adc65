"""The partition of a region, from its name (``_regions``), as aws-cdk-lib's region facts say."""

from __future__ import annotations

import pytest
from aws_cdk import region_info

from ecs_exec_roles._regions import partition_of_region


@pytest.mark.parametrize("region", sorted(region_info.RegionInfo.regions, key=lambda r: r.name))
def test_partition_of_every_known_region_is_cdks(region: region_info.RegionInfo) -> None:
    assert partition_of_region(region.name) == region.partition


@pytest.mark.parametrize("region", ["", "moon-base-1x", "xx-isoz-east-1", "eu-west"])
def test_unknown_region_shapes_have_no_partition(region: str) -> None:
    assert partition_of_region(region) is None
