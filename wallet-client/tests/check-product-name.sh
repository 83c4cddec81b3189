#!/bin/sh
# check-product-name.sh DESKTOP-FILE KO-MESSAGES-JSON: the Korean product
# name is the same everywhere ("onepin 지갑", "onepin 확장 프로그램"), and a
# search for its spoken form "원핀" still finds the wallet.
#
# Copyright 2026 The onepin developers
# SPDX-License-Identifier: GPL-3.0-or-later
set -eu
desktop=$1
messages=$2
status=0

grep -qx 'Name\[ko\]=onepin 지갑' "$desktop" || { echo "not ok: Name[ko] is not “onepin 지갑”"; status=1; }
grep -q '^Keywords\[ko\]=.*원핀;' "$desktop" || { echo "not ok: Keywords[ko] lacks 원핀"; status=1; }
if grep -n '원핀' "$messages"; then
  echo "not ok: the extension calls onepin 원핀"
  status=1
fi
exit $status
