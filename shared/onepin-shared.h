/* onepin-shared.h: the one header to include for libonepin-shared
 *
 * Copyright 2026 The onepin developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "onepin-card.h"
#include "onepin-contact.h"
#include "onepin-crypto.h"
#include "onepin-iso8583.h"
#include "onepin-json.h"
#include "onepin-money.h"
#include "onepin-process.h"
#include "onepin-signature.h"
#include "onepin-text.h"
