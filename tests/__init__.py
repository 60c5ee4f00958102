"""The test suite (a package, so that its helpers import as ``tests.X`` ahead of any installed ``tests``)."""
