from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client

from .platform import SimPlatform


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # The world fixture hashes seven passwords; PBKDF2's 1M rounds cost seconds on a busy box.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def sim():
    platform = SimPlatform()
    cache.clear()
    yield platform
    platform.close()


@pytest.fixture
def registered(sim, world):
    """The simulated platform registered in EduAI for the world's school; it knows our keys."""
    sim.platform_row = sim.register(world.school)
    sim.learn_tool_keys(Client())
    return sim


def launch_id_from(html: str) -> str:
    match = re.search(r'action="/lti/deep-link/([^/"]+)/"', html)
    assert match, "no deep-linking form in the page"
    return match.group(1)
