#!/bin/sh
# Bazel's --workspace_status_command (see .bazelrc): the commit being built,
# for aigw_build_info. Without git or outside a repository it prints nothing
# (the revision reads "unknown"); it always exits 0, or Bazel would fail.
revision=$(git rev-parse HEAD 2>/dev/null) && echo "STABLE_GIT_REVISION ${revision}"
exit 0
