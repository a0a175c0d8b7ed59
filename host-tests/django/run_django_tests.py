#!/usr/bin/env python3
"""Run Django 5.2.19's OWN session tests against the file-sessions component.

Django's source distribution on PyPI carries its test suite. This script fetches
it once (``pip download --no-binary :all: --no-deps django==5.2.19``, keeping only
``tests/sessions_tests/``), then runs Django's ``FileSessionTests``,
``FileSessionPathLibTests`` and ``SessionBaseTests`` with ``backend`` replaced by
``component_session.SessionStore``, whose every call goes into the component
through the PyPI ``wasmtime`` package. The test code is Django's, unmodified;
only the classes are subclassed.

Usage:
    python run_django_tests.py --wasm FILE_SESSIONS_WASM --cache DIR

Prints one JSON object on stdout: ``{"Class.test_name": outcome, ...}`` with
outcome ``"pass"``, ``"fail"``, ``"error"`` or ``"skip: <reason>"``. Exits 0
whatever the outcomes (the caller compares them with the expected list); 2 on
bad usage, 1 if the tests could not be set up.
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tarfile
import unittest

DJANGO = "5.2.19"
HERE = os.path.dirname(os.path.abspath(__file__))


def django_tests(cache):
    """The directory holding Django's ``sessions_tests`` package, fetched once."""
    root = os.path.join(cache, "django-%s-tests" % DJANGO)
    if os.path.isfile(os.path.join(root, "sessions_tests", "tests.py")):
        return root
    os.makedirs(cache, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q",
         "--no-binary", ":all:", "--no-deps", "django==%s" % DJANGO, "-d", cache],
        check=True, stdout=sys.stderr,
    )
    (sdist,) = glob.glob(os.path.join(cache, "[dD]jango-%s.tar.gz" % DJANGO))
    prefix = "django-%s/tests/sessions_tests/" % DJANGO
    staging = root + ".partial"
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix) and m.isfile()]
        for m in members:
            m.name = "sessions_tests/" + m.name[len(prefix):]
        tar.extractall(staging, members=members, filter="data")
    os.replace(staging, root)  # whole or not at all, for concurrent callers
    return root


def configure():
    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="django-tests-secret-key",
        USE_TZ=True,
        INSTALLED_APPS=["django.contrib.sessions", "sessions_tests"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    )
    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()


# Tests of a bare SessionBase that only check NotImplementedError: the component
# implements every one of those methods, so they cannot apply.
NOT_IMPLEMENTED = "test_create test_acreate test_delete test_adelete test_exists test_aexists " \
    "test_load test_aload test_save test_asave"


def suites():
    import sessions_tests.tests as dt
    from django.test import override_settings

    from component_session import SessionStore

    class FileSessionTests(dt.FileSessionTests):
        backend = SessionStore

        def setUp(self):
            # Django's setUp resets the storage-path cache of `self.backend`, which in
            # Django's suite is also the engine test_clearsessions_command sweeps with.
            # Here that engine is Django's file backend: reset its cache too.
            if hasattr(dt.FileSession, "_storage_path"):
                del dt.FileSession._storage_path
            super().setUp()

        @override_settings(SESSION_ENGINE="component_session", SESSION_COOKIE_AGE=0)
        def test_clearsessions_command_through_the_component(self):
            """Django's test_clearsessions_command with the component sweeping (Django's
            own test sets SESSION_ENGINE to Django's file backend, which then sweeps
            the files the component wrote)."""
            dt.FileSessionTests.test_clearsessions_command.__wrapped__(self)

    class FileSessionPathLibTests(dt.FileSessionPathLibTests, FileSessionTests):
        backend = SessionStore

    class SessionBaseTests(dt.SessionBaseTests):
        def setUp(self):
            self.session = SessionStore()

    reason = "a bare SessionBase's NotImplementedError: the component implements it"
    for name in NOT_IMPLEMENTED.split():
        setattr(SessionBaseTests, name, unittest.skip(reason)(getattr(dt.SessionBaseTests, name)))

    loader = unittest.TestLoader()
    return [loader.loadTestsFromTestCase(c) for c in (FileSessionTests, FileSessionPathLibTests, SessionBaseTests)]


class Outcomes(unittest.TestResult):
    """Each test's outcome, by ``Class.method``."""

    def __init__(self):
        super().__init__()
        self.outcomes = {}

    @staticmethod
    def name(test):
        return "%s.%s" % (type(test).__name__, test._testMethodName)

    def addSuccess(self, test):
        self.outcomes[self.name(test)] = "pass"

    def addFailure(self, test, err):
        self.outcomes[self.name(test)] = "fail"
        print("FAIL %s\n%s" % (self.name(test), self._exc_info_to_string(err, test)), file=sys.stderr)

    def addError(self, test, err):
        self.outcomes[self.name(test)] = "error"
        print("ERROR %s\n%s" % (self.name(test), self._exc_info_to_string(err, test)), file=sys.stderr)

    def addSkip(self, test, reason):
        self.outcomes[self.name(test)] = "skip: " + reason

    def addSubTest(self, test, subtest, err):
        if err is not None:
            self.addFailure(test, err)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wasm", required=True, help="the portable component (file_sessions.wasm)")
    parser.add_argument("--cache", required=True, help="where Django's tests are kept between runs")
    args = parser.parse_args()
    os.environ["FILE_SESSIONS_WASM"] = os.path.abspath(args.wasm)
    sys.path[:0] = [HERE, django_tests(args.cache)]
    configure()
    result = Outcomes()
    for suite in suites():
        suite.run(result)
    json.dump(result.outcomes, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
