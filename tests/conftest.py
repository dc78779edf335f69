"""Test-wide setup: the vector and stage caches go to a temporary folder, never the user's cache."""

import os
import tempfile

os.environ["PIPELINE_CACHE_DIR"] = tempfile.mkdtemp(prefix="pipeline-test-cache-")
