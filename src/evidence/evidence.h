/* evidence: one parser per attestation format, from untrusted bytes to plain structs, using
 * only the bounds-checked reader. No cryptography here: src/verify/ authenticates. */
#ifndef SB_EVIDENCE_H
#define SB_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* Each platform keeps its declarations in its own section below (one owner per section). */

/* ==== AMD SEV-SNP ======================================================================= */

/* ==== Intel TDX / SGX DCAP quotes and collateral ========================================= */

/* ==== CBOR / COSE / AWS Nitro ============================================================= */

/* ==== NVIDIA SPDM ========================================================================= */

/* ==== TPM 2.0 and TCG event logs ========================================================== */

#endif
