"""Runs one unittest module as one CTest test and says in the exit status what happened:
  run_tests.py MODULE.py [module arguments, e.g. --mtastsd PATH] [TestClass[.test_name] ...]
0: every test ran and passed. 1: a test failed or errored, or nothing ran at all.
77 (the tests' SKIP_RETURN_CODE): nothing failed, but some or all tests were skipped because
they cannot run here (not real root, no namespace, no Postfix): CTest then shows the test
as skipped, never as passed, and the reasons are printed last. Python 3 stdlib only.
"""
import importlib.util
import os
import sys
import unittest

SKIP = 77


def load(path):
    """Imports MODULE.py under its own name (so setUpModule/tearDownModule are found), with
    sys.argv as if it were run directly: it takes its own options (--mtastsd) at import."""
    name = os.path.splitext(os.path.basename(path))[0]
    sys.argv = [path] + sys.argv[2:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    module = load(sys.argv[1])
    names = sys.argv[1:]  # what the module left of its arguments: test names, if any
    loader = unittest.TestLoader()
    suite = loader.loadTestsFromNames(names, module) if names else loader.loadTestsFromModule(module)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    if not result.wasSuccessful():
        return 1
    if result.skipped:
        # A skip in setUpModule/setUpClass is one entry for a fixture, not a counted test.
        skipped_tests = sum(1 for test, _ in result.skipped if isinstance(test, unittest.TestCase))
        print(f"SKIPPED: {len(result.skipped)} test(s) or fixture(s) cannot run here; "
              f"{result.testsRun - skipped_tests} test(s) ran and passed:")
        for test, reason in result.skipped:
            print(f"  {test}: {reason}")
        return SKIP
    if result.testsRun == 0:
        print("FAILED: no test ran")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
