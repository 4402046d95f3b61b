"""Page tests sign users in many times: a fast password hasher keeps them quick.

The production hasher (PBKDF2, about 1 million iterations) costs ~0.3 s per password on a
small CI core; every factory user pays it once. MD5 is fine for throwaway test passwords.
"""

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
