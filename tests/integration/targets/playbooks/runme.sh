#!/usr/bin/env bash
# Runs the collection's own playbooks (playbooks/*.yml) against the emulator and checks
# what they claim: the CI plan equals the apply, the rolling reboot stops on the first box
# that does not come back, the device report is complete and self-contained.
set -eu
exec python check_playbooks.py -e @../../integration_config.yml "$@"
