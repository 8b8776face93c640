#!/usr/bin/env bash
# The CT boxes inventory plugin against the emulator: a golden file, groups by
# location and state, ansible_host, filters, a cache hit proved by the emulator's
# request counter, and bad configurations that fail with a sentence.
set -eux

export ANSIBLE_ROLES_PATH=../
ansible-playbook runme.yml -i "${INVENTORY_PATH}" -e @../../integration_config.yml -e "work_dir=${OUTPUT_DIR}/inventory_ct_boxes" "$@"
