#!/usr/bin/env bash
# The cThings inventory plugin against the emulator: golden files, 10,000 devices
# cold and from the cache (proved by the emulator's request counter), a playbook
# over the plugin's hosts, and bad configurations that fail with a sentence.
set -eux

export ANSIBLE_ROLES_PATH=../
ansible-playbook runme.yml -i "${INVENTORY_PATH}" -e @../../integration_config.yml -e "work_dir=${OUTPUT_DIR}/inventory_cthings" "$@"
