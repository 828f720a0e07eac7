/* nvidia (verify): authenticates NVIDIA GPU / NVSwitch SPDM measurement reports — the P-384
 * signature by the device's leaf certificate, its chain to the pinned NVIDIA Device Identity CA
 * at an explicit time, the FWID binding, the nonce — and turns them into claims. RIMs given
 * next to the evidence are authenticated (nvidia_rim.c) and compared with the measurement
 * blocks; without them, and for OCSP (which needs the network), the result says unchecked,
 * never assumed good. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "crypto/crypto.h"
#include "evidence/evidence.h"
#include "verify.h"

#define W "nvidia"
#define NV_MAX_GPUS 16
#define NV_MAX_CHAIN 8
#define NV_MAX_JSON (1u << 20)
#define NV_SIG_LEN 96                /* ECDSA P-384, raw r||s */
#define NV_OID_FWID "2.23.133.5.4.1" /* tcg-dice-TcbInfo: FWID is its last 48 bytes */
#define NV_FWID_LEN 48
#define NV_CACHE_SLOTS 8 /* verified device chains kept by a context */
#define NV_MAX_RIMS 8    /* RIM files per verification (a driver and a VBIOS RIM per device) */

/* NVIDIA opaque-data field types (little-endian u16 type, u16 length, value). */
enum {
    NV_OPAQUE_DRIVER_VERSION = 3,
    NV_OPAQUE_GPU_INFO = 4,
    NV_OPAQUE_VBIOS_VERSION = 6,
    NV_OPAQUE_NVDEC0_STATUS = 11,
    NV_OPAQUE_MSRSCNT = 12,
    NV_OPAQUE_CPRINFO = 13,
    NV_OPAQUE_BOARD_ID = 14,
    NV_OPAQUE_CHIP_SKU = 15,
    NV_OPAQUE_CHIP_SKU_MOD = 16,
    NV_OPAQUE_PROJECT = 17,
    NV_OPAQUE_PROJECT_SKU = 18,
    NV_OPAQUE_PROJECT_SKU_MOD = 19,
    NV_OPAQUE_FWID = 20,
    NV_OPAQUE_PROTECTED_PCIE_STATUS = 21,
};

enum nv_render { NV_TEXT, NV_HEX, NV_CHAR, NV_VBIOS, NV_COUNTS };
static const struct {
    uint16_t type;
    const char *name;
    enum nv_render how;
} OPAQUE_NAMES[] = {
    {NV_OPAQUE_DRIVER_VERSION, "driver_version", NV_TEXT},
    {NV_OPAQUE_GPU_INFO, "gpu_info", NV_HEX},
    {NV_OPAQUE_VBIOS_VERSION, "vbios_version", NV_VBIOS},
    {NV_OPAQUE_NVDEC0_STATUS, "nvdec0_status", NV_CHAR},
    {NV_OPAQUE_MSRSCNT, "measurement_count", NV_COUNTS},
    {NV_OPAQUE_CPRINFO, "cpr_info", NV_HEX},
    {NV_OPAQUE_BOARD_ID, "board_id", NV_HEX},
    {NV_OPAQUE_CHIP_SKU, "chip_sku", NV_TEXT},
    {NV_OPAQUE_CHIP_SKU_MOD, "chip_sku_mod", NV_TEXT},
    {NV_OPAQUE_PROJECT, "project", NV_TEXT},
    {NV_OPAQUE_PROJECT_SKU, "project_sku", NV_TEXT},
    {NV_OPAQUE_PROJECT_SKU_MOD, "project_sku_mod", NV_HEX},
    {NV_OPAQUE_FWID, "fwid", NV_HEX},
    {NV_OPAQUE_PROTECTED_PCIE_STATUS, "protected_pcie_status", NV_CHAR},
};

/* One device's evidence, whichever container it came in. */
struct nv_gpu {
    uint8_t *report; /* owned */
    size_t report_len;
    const uint8_t *chain; /* the PEM chain, leaf first, exactly as offered */
    size_t chain_len;
    uint8_t *chain_owned; /* set when the chain was decoded from a container */
    char *arch;           /* owned; NULL when the container does not say */
    uint8_t *nonce;       /* the container's stated nonce, owned; NULL when none */
    size_t nonce_len;
};

static void gpus_free(struct nv_gpu *g, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(g[i].report);
        free(g[i].chain_owned);
        free(g[i].arch);
        free(g[i].nonce);
    }
}

static void json_decrefp_(json_t **j) { json_decref(*j); }

/* ---- containers ---------------------------------------------------------------------------- */

static size_t skip_ws(const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
        i++;
    return i;
}

static bool is_hex_text(const uint8_t *p, size_t n) {
    size_t i = skip_ws(p, n), digits = 0;
    for (; i < n; i++) {
        uint8_t c = p[i];
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
            digits++;
        else if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
            return false;
    }
    return digits >= 8;
}

static bool has_prefix(const uint8_t *p, size_t n, const char *s) {
    size_t i = skip_ws(p, n), k = strlen(s);
    return n - i >= k && memcmp(p + i, s, k) == 0;
}

static bool is_pem(const uint8_t *p, size_t n) {
    return has_prefix(p, n, "-----BEGIN CERTIFICATE-----");
}
static bool is_json(const uint8_t *p, size_t n) {
    return has_prefix(p, n, "[") || has_prefix(p, n, "{");
}
static bool is_raw_spdm(const uint8_t *p, size_t n) {
    return n >= 4 && p[0] == 0x11 && p[1] == 0xe0;
}
static bool is_hex_spdm(const uint8_t *p, size_t n) {
    return (has_prefix(p, n, "11e0") || has_prefix(p, n, "11E0")) && is_hex_text(p, n);
}

/* Keeps a view of the PEM chain; it is parsed only when the device's chain is not cached. */
static int load_chain(const uint8_t *p, size_t n, struct nv_gpu *g, const char *name,
                      sb_error *err) {
    if (g->chain) BAIL(err, SB_E_USAGE, W ": more than one certificate chain given (%s)", name);
    if (!is_pem(p, n)) BAIL(err, SB_E_MALFORMED, W ": certificate chain %s is not PEM", name);
    g->chain = p;
    g->chain_len = n;
    return 0;
}

static int load_report(const uint8_t *p, size_t n, struct nv_gpu *g, sb_error *err) {
    if (is_raw_spdm(p, n)) {
        if (n > SB_SPDM_MAX_REPORT)
            BAIL(err, SB_E_LIMIT, W ": report of %zu bytes is over the limit", n);
        g->report = malloc(n);
        if (!g->report) BAIL(err, SB_E_INTERNAL, W ": out of memory");
        memcpy(g->report, p, n);
        g->report_len = n;
        return 0;
    }
    return sb_spdm_from_hex(p, n, &g->report, &g->report_len, err);
}

static int json_b64(const json_t *e, const char *key, size_t i, uint8_t **out, size_t *n,
                    sb_error *err) {
    const char *s = json_string_value(json_object_get(e, key));
    if (!s) BAIL(err, SB_E_MALFORMED, W ": evidence entry %zu has no \"%s\" string", i, key);
    int rc = sb_base64_decode(s, strlen(s), true, out, n, err);
    if (rc < 0) return sb_error_prefix(err, W ": entry %zu \"%s\"", i, key);
    return 0;
}

/* NVIDIA attestation SDK / nvtrust local verifier evidence: [{arch, certificate, evidence,
 * nonce}, ...] with the report and the PEM chain in base64 (a single object is accepted). */
static int load_json(const struct sb_blob *b, struct nv_gpu *gpus, size_t *n_gpus, sb_error *err) {
    ENSURE(b->len <= NV_MAX_JSON, err, SB_E_LIMIT, W ": %s is over %u bytes", b->name, NV_MAX_JSON);
    json_error_t je;
    _cleanup_(json_decrefp_) json_t *root =
        json_loadb((const char *)b->data, b->len, JSON_REJECT_DUPLICATES, &je);
    if (!root) BAIL(err, SB_E_MALFORMED, W ": %s: JSON line %d: %s", b->name, je.line, je.text);
    json_t *arr = root;
    if (json_is_object(root)) {
        arr = json_array();
        if (!arr || json_array_append(arr, root) < 0) {
            json_decref(arr);
            BAIL(err, SB_E_INTERNAL, W ": out of memory");
        }
        json_decref(root);
        root = arr;
    }
    ENSURE(json_is_array(arr) && json_array_size(arr) > 0, err, SB_E_MALFORMED,
           W ": %s: expected an array of evidence entries", b->name);
    ENSURE(json_array_size(arr) <= NV_MAX_GPUS, err, SB_E_LIMIT, W ": %s: %zu devices, at most %d",
           b->name, json_array_size(arr), NV_MAX_GPUS);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *e = json_array_get(arr, i);
        ENSURE(json_is_object(e), err, SB_E_MALFORMED, W ": evidence entry %zu is not an object",
               i);
        struct nv_gpu *g = &gpus[(*n_gpus)++];
        TRY(json_b64(e, "evidence", i, &g->report, &g->report_len, err));
        _cleanup_free_ uint8_t *pem = NULL;
        size_t pem_len = 0;
        TRY(json_b64(e, "certificate", i, &pem, &pem_len, err));
        TRY(load_chain(pem, pem_len, g, "in the evidence entry", err));
        g->chain_owned = TAKE_PTR(pem);
        const char *arch = json_string_value(json_object_get(e, "arch"));
        if (arch) {
            g->arch = strndup(arch, 32);
            if (!g->arch) BAIL(err, SB_E_INTERNAL, W ": out of memory");
        }
        const char *nonce = json_string_value(json_object_get(e, "nonce"));
        if (nonce) {
            int rc = sb_hex_decode(nonce, strlen(nonce), &g->nonce, &g->nonce_len, err);
            if (rc < 0) return sb_error_prefix(err, W ": entry %zu \"nonce\"", i);
        }
    }
    return 0;
}

/* Sorts the inputs: one JSON container, or one report (hex or raw) with its PEM chain as a
 * second evidence file or through --certs. */
static int load_inputs(const struct sb_verify_opts *o, const struct sb_blob *ev, size_t n_ev,
                       struct nv_gpu *gpus, size_t *n_gpus, const char **format, sb_error *err) {
    ENSURE(n_ev >= 1, err, SB_E_USAGE, W ": no evidence given (only RIMs)");
    if (is_json(ev[0].data, ev[0].len)) {
        ENSURE(n_ev == 1 && o->n_certs == 0, err, SB_E_USAGE,
               W ": a JSON evidence file carries its own chains; give it alone");
        *format = "nvidia-attestation-sdk";
        return load_json(&ev[0], gpus, n_gpus, err);
    }
    ENSURE(is_raw_spdm(ev[0].data, ev[0].len) || is_hex_spdm(ev[0].data, ev[0].len), err,
           SB_E_MALFORMED,
           W ": %s is not an SPDM GET_MEASUREMENTS report (hex or binary) nor a JSON container",
           ev[0].name);
    struct nv_gpu *g = &gpus[(*n_gpus)++];
    *format = "nvidia-spdm";
    TRY(load_report(ev[0].data, ev[0].len, g, err));
    for (size_t i = 1; i < n_ev; i++) {
        ENSURE(is_pem(ev[i].data, ev[i].len), err, SB_E_USAGE,
               W ": %s: expected the PEM certificate chain after the report", ev[i].name);
        TRY(load_chain(ev[i].data, ev[i].len, g, ev[i].name, err));
    }
    for (size_t i = 0; i < o->n_certs; i++)
        TRY(load_chain(o->certs[i].data, o->certs[i].len, g, o->certs[i].name, err));
    if (!g->chain)
        BAIL(err, SB_E_USAGE,
             W ": the report needs its certificate chain (a PEM file after it, or --certs)");
    return 0;
}

/* ---- claims helpers ------------------------------------------------------------------------ */

static json_t *text_or_hex(const uint8_t *p, size_t n) {
    size_t len = n;
    while (len > 0 && p[len - 1] == 0)
        len--;
    bool printable = len > 0;
    for (size_t i = 0; i < len; i++)
        printable = printable && p[i] >= 0x20 && p[i] < 0x7f;
    if (printable) return json_stringn((const char *)p, len);
    char *h = sb_hex_dup(p, n);
    json_t *j = h ? json_string(h) : NULL;
    free(h);
    return j;
}

static json_t *render(enum nv_render how, const uint8_t *p, size_t n) {
    char buf[64];
    switch (how) {
    case NV_TEXT: return text_or_hex(p, n);
    case NV_CHAR:
        if (n == 1 && p[0] >= 0x20 && p[0] < 0x7f) return json_stringn((const char *)p, 1);
        break;
    case NV_VBIOS:
        /* 8 bytes: a little-endian u32 shown as four hex bytes, then the OEM byte
         * (96.00.9f.00.01); NVSwitch writes the text itself */
        if (n == 8) {
            (void)snprintf(buf, sizeof(buf), "%02x.%02x.%02x.%02x.%02x", p[3], p[2], p[1], p[0],
                           p[4]);
            return json_string(buf);
        }
        return text_or_hex(p, n);
    case NV_COUNTS:
        if (n % 4 == 0) {
            json_t *o = json_object();
            for (size_t i = 0; o && i < n / 4; i++) {
                uint32_t v = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                             (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
                (void)snprintf(buf, sizeof(buf), "%zu", i + 1);
                if (json_object_set_new(o, buf, json_integer(v)) < 0) {
                    json_decref(o);
                    return NULL;
                }
            }
            return o;
        }
        break;
    default: break;
    }
    char *h = sb_hex_dup(p, n);
    json_t *j = h ? json_string(h) : NULL;
    free(h);
    return j;
}

static int jset(json_t *o, const char *k, json_t *v) {
    if (!v || json_object_set_new(o, k, v) < 0) return SB_E_INTERNAL;
    return 0;
}

static int jset_hex(json_t *o, const char *k, const uint8_t *p, size_t n) {
    char *h = sb_hex_dup(p, n);
    int rc = h ? jset(o, k, json_string(h)) : SB_E_INTERNAL;
    free(h);
    return rc;
}

static int add_cert(json_t *claims, const char *kind, const sb_cert *c, const char *source) {
    char *s = sb_cert_subject(c), *i = sb_cert_issuer(c);
    int rc = sb_claims_add_collateral(claims, kind, s, i, sb_cert_not_before(c),
                                      sb_cert_not_after(c), source);
    free(s);
    free(i);
    return rc;
}

/* ---- one device ------------------------------------------------------------------------------ */

/* What a verified chain establishes about a device, cached per chain bytes: device chains
 * are long-lived (valid to 9999), so a warm verification checks only the SPDM signature. */
struct nv_device {
    bool used;
    uint8_t key[32]; /* SHA-256 of the chain bytes as offered */
    int64_t nb, na;  /* intersection of the validity windows of every certificate used */
    sb_pubkey *leaf_key;
    bool has_fwid;
    uint8_t fwid[NV_FWID_LEN]; /* from the leaf's TCG DICE TcbInfo extension */
    char *subject;             /* the leaf's */
    json_t *collateral;        /* collateral records, shared into each claims object */
};

struct sb_nvidia_ctx {
    sb_cert *root;
    sb_cert *rim_root; /* the NVIDIA CoRIM signing Root CA */
    struct nv_device slots[NV_CACHE_SLOTS];
    size_t next;
};

static void device_clear(struct nv_device *d) {
    sb_pubkey_free(d->leaf_key);
    free(d->subject);
    json_decref(d->collateral);
    *d = (struct nv_device){0};
}

void sb_nvidia_ctx_free(sb_nvidia_ctx *c) {
    if (!c) return;
    for (size_t i = 0; i < NV_CACHE_SLOTS; i++)
        device_clear(&c->slots[i]);
    sb_cert_free(c->root);
    sb_cert_free(c->rim_root);
    free(c);
}

int sb_nvidia_ctx_new(sb_nvidia_ctx **out, sb_error *err) {
    sb_nvidia_ctx *c = calloc(1, sizeof(*c));
    if (!c) BAIL(err, SB_E_INTERNAL, W ": out of memory");
    uint8_t fp[32];
    int rc = sb_cert_from_pem((const uint8_t *)sb_nvidia_root_pem, strlen(sb_nvidia_root_pem),
                              &c->root, err);
    if (rc == 0) rc = sb_cert_fingerprint(c->root, SB_HASH_SHA256, fp, err);
    if (rc == 0 && !sb_ct_equal(fp, sb_nvidia_root_sha256, 32))
        rc = sb_error_set(err, SB_E_INTERNAL,
                          W ": the embedded root does not match its pinned fingerprint");
    if (rc == 0)
        rc = sb_cert_from_pem((const uint8_t *)sb_nvidia_rim_root_pem,
                              strlen(sb_nvidia_rim_root_pem), &c->rim_root, err);
    if (rc == 0) rc = sb_cert_fingerprint(c->rim_root, SB_HASH_SHA256, fp, err);
    if (rc == 0 && !sb_ct_equal(fp, sb_nvidia_rim_root_sha256, 32))
        rc = sb_error_set(err, SB_E_INTERNAL,
                          W ": the embedded RIM root does not match its pinned fingerprint");
    if (rc < 0) {
        sb_nvidia_ctx_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int sb_nvidia_ctx_set_rim_root(sb_nvidia_ctx *c, const sb_cert *root, sb_error *err) {
    ENSURE(c && root, err, SB_E_USAGE, W ": no context or root");
    const uint8_t *der = NULL;
    size_t n = 0;
    sb_cert *copy = NULL;
    TRY(sb_cert_der(root, &der, &n, err));
    TRY(sb_cert_from_der(der, n, &copy, err));
    sb_cert_free(c->rim_root);
    c->rim_root = copy;
    return 0;
}

static void window(const sb_cert *c, int64_t *nb, int64_t *na) {
    if (sb_cert_not_before(c) > *nb) *nb = sb_cert_not_before(c);
    if (sb_cert_not_after(c) < *na) *na = sb_cert_not_after(c);
}

/* The full check of a chain not seen before: shape, path to the pinned root at `at`, the
 * leaf's FWID extension and key. */
static int verify_device(sb_nvidia_ctx *c, const struct nv_gpu *g, int64_t at, size_t idx,
                         struct nv_device *d, sb_error *err) {
    sb_cert **chain = NULL;
    size_t n = 0;
    int rc = sb_certs_from_pem(g->chain, g->chain_len, NV_MAX_CHAIN, &chain, &n, err);
    if (rc < 0) return sb_error_prefix(err, W ": device %zu: certificate chain", idx);
    sb_cert *inter[NV_MAX_CHAIN];
    size_t n_inter = 0;
    const uint8_t *ext;
    size_t elen;
    if (n == 0) {
        rc = sb_error_set(err, SB_E_MALFORMED, W ": device %zu: the chain holds no certificate",
                          idx);
        goto out;
    }
    if (n == 1 && sb_cert_equal(chain[0], c->root)) {
        rc = sb_error_set(err, SB_E_CHAIN,
                          W ": device %zu: the certificate chain holds only the root CA; it must "
                            "have at least the root and the signing certificate",
                          idx);
        goto out;
    }
    for (size_t i = 1; i < n; i++)
        if (!sb_cert_equal(chain[i], c->root)) inter[n_inter++] = chain[i];
    rc = sb_x509_verify_chain(chain[0], inter, n_inter, &c->root, 1, NULL, 0, at, 0, err);
    if (rc < 0) {
        (void)sb_error_prefix(err, W ": device %zu: report certificate chain", idx);
        goto out;
    }
    d->nb = INT64_MIN;
    d->na = INT64_MAX;
    window(c->root, &d->nb, &d->na);
    window(chain[0], &d->nb, &d->na);
    for (size_t i = 0; i < n_inter; i++)
        window(inter[i], &d->nb, &d->na);
    rc = sb_cert_ext(chain[0], NV_OID_FWID, &ext, &elen, err);
    if (rc == SB_E_NOTFOUND) {
        sb_error_clear(err);
        rc = 0;
    } else if (rc == 0) {
        if (elen < NV_FWID_LEN) {
            rc = sb_error_set(err, SB_E_CHAIN,
                              W ": device %zu: FWID extension of %zu bytes is shorter than %d", idx,
                              elen, NV_FWID_LEN);
            goto out;
        }
        sb_reader er;
        sb_reader_init(&er, ext, elen, W, err);
        if ((rc = sb_reader_skip(&er, elen - NV_FWID_LEN, "FWID extension")) < 0 ||
            (rc = sb_reader_copy(&er, d->fwid, NV_FWID_LEN, "FWID")) < 0)
            goto out;
        d->has_fwid = true;
    } else {
        goto out;
    }
    if ((rc = sb_cert_pubkey(chain[0], &d->leaf_key, err)) < 0) goto out;
    d->subject = sb_cert_subject(chain[0]);
    d->collateral = json_pack("{s:[]}", "collateral");
    rc = d->subject && d->collateral ? 0 : SB_E_INTERNAL;
    if (rc == 0) rc = add_cert(d->collateral, "nvidia-device-identity-ca", c->root, "pinned");
    for (size_t i = n_inter; i > 0 && rc == 0; i--)
        rc = add_cert(d->collateral, "nvidia-intermediate", inter[i - 1], "evidence");
    if (rc == 0) rc = add_cert(d->collateral, "nvidia-device-leaf", chain[0], "evidence");
    if (rc < 0) rc = sb_error_set(err, SB_E_INTERNAL, W ": out of memory");
out:
    sb_certs_free(chain, n);
    return rc;
}

/* The device behind a chain: from the cache when this exact chain was verified before and `at`
 * is inside every certificate's window, otherwise verified now and cached. */
static int establish_device(sb_nvidia_ctx *c, const struct nv_gpu *g, int64_t at, size_t idx,
                            const struct nv_device **out, sb_error *err) {
    uint8_t key[32];
    TRY(sb_hash(SB_HASH_SHA256, g->chain, g->chain_len, key, err));
    for (size_t i = 0; i < NV_CACHE_SLOTS; i++) {
        const struct nv_device *d = &c->slots[i];
        if (d->used && sb_ct_equal(d->key, key, 32) && at >= d->nb && at <= d->na) {
            *out = d;
            return 0;
        }
    }
    struct nv_device fresh = {0};
    int rc = verify_device(c, g, at, idx, &fresh, err);
    if (rc < 0) {
        device_clear(&fresh);
        return rc;
    }
    struct nv_device *slot = &c->slots[c->next];
    c->next = (c->next + 1) % NV_CACHE_SLOTS;
    device_clear(slot);
    *slot = fresh;
    slot->used = true;
    for (size_t i = 0; i < 32; i++)
        slot->key[i] = key[i];
    *out = slot;
    return 0;
}

/* The RIMs given with the evidence, authenticated; used[i] once a device's version matched. */
struct nv_rims {
    sb_nv_rim *rim[NV_MAX_RIMS];
    size_t n;
    bool used[NV_MAX_RIMS];
};

static void rims_clear(struct nv_rims *s) {
    for (size_t i = 0; i < s->n; i++)
        sb_nv_rim_free(s->rim[i]);
}

/* Compares the device's blocks with every RIM of its driver or VBIOS version: a mismatch is
 * a policy refusal naming the RIM and the blocks; g says which RIMs were compared. */
static int check_rims(struct nv_rims *s, const sb_spdm_report *r, size_t idx, json_t *g,
                      json_t *claims, sb_error *err) {
    const char *drv = json_string_value(json_object_get(g, "driver_version"));
    const char *vb = json_string_value(json_object_get(g, "vbios_version"));
    const char *seen_drv = NULL, *seen_vb = NULL;
    for (size_t i = 0; i < s->n; i++) {
        const char *v = sb_nv_rim_version(s->rim[i]), *kind = NULL;
        if (drv && strcasecmp(v, drv) == 0) kind = "driver", seen_drv = v;
        if (!kind && vb && strcasecmp(v, vb) == 0) kind = "VBIOS", seen_vb = v;
        if (!kind) continue;
        s->used[i] = true;
        char why[256];
        size_t bad = 0;
        if (sb_nv_rim_compare(s->rim[i], r, why, sizeof(why), &bad) < 0)
            BAIL(err, SB_E_POLICY,
                 W ": device %zu: %zu of the %zu reference measurements of the %s RIM %s differ: "
                   "%s",
                 idx, bad, sb_nv_rim_measurements(s->rim[i]), kind, v, why);
    }
    if (seen_drv) TRY(jset(g, "rim_driver", json_string(seen_drv)));
    if (seen_vb) TRY(jset(g, "rim_vbios", json_string(seen_vb)));
    if (seen_drv && seen_vb) return jset(g, "rim", json_string("matched"));
    if (!seen_drv && !seen_vb) return jset(g, "rim", json_string("unchecked"));
    TRY(jset(g, "rim", json_string("partial")));
    return sb_claims_warn(claims,
                          W ": device %zu: no %s RIM was given: its measurements were not compared",
                          idx, seen_drv ? "VBIOS" : "driver");
}

/* The FWID the firmware reports (opaque field 20) must be the one NVIDIA certified in the
 * signing certificate's TCB-info extension. */
static int check_fwid(const sb_spdm_report *r, const struct nv_device *d, size_t idx, json_t *g,
                      json_t *claims, sb_error *err) {
    const sb_spdm_opaque_field *f = sb_spdm_field(r, NV_OPAQUE_FWID);
    if (!d->has_fwid) {
        if (f)
            BAIL(err, SB_E_CHAIN,
                 W ": device %zu: FWID extension (OID %s) not found in the signing certificate "
                   "(is the leaf missing from the chain?)",
                 idx, NV_OID_FWID);
        return sb_claims_warn(claims, W ": device %zu: no FWID in the report or the certificate",
                              idx);
    }
    TRY(jset_hex(g, "certificate_fwid", d->fwid, NV_FWID_LEN));
    if (!f)
        return sb_claims_warn(claims,
                              W ": device %zu: the report states no FWID to compare with its "
                                "certificate's",
                              idx);
    ENSURE(f->n == NV_FWID_LEN && sb_ct_equal(f->p, d->fwid, NV_FWID_LEN), err, SB_E_CHAIN,
           W ": device %zu: the report's FWID does not match its signing certificate's", idx);
    return 0;
}

static int verify_gpu(sb_nvidia_ctx *c, const struct sb_verify_opts *o, const struct nv_gpu *gpu,
                      size_t idx, bool many, struct nv_rims *rims, json_t *claims, json_t *g,
                      const struct nv_device **dev, sb_error *err) {
    _cleanup_free_ sb_spdm_report *r = calloc(1, sizeof(*r));
    if (!r) BAIL(err, SB_E_INTERNAL, W ": out of memory");
    int rc = sb_spdm_parse(gpu->report, gpu->report_len, NV_SIG_LEN, err, r);
    if (rc < 0) return many ? sb_error_prefix(err, W ": device %zu", idx) : rc;
    ENSURE(r->trailing <= SB_SPDM_MAX_TRAILING, err, SB_E_MALFORMED,
           W ": device %zu: %zu bytes after the signature (at most %d are tolerated)", idx,
           r->trailing, SB_SPDM_MAX_TRAILING);
    /* the chain's shape and the FWID binding first (their failures name what is missing),
     * then the signature over everything the claims come from */
    const struct nv_device *d = NULL;
    TRY(establish_device(c, gpu, o->at, idx, &d, err));
    TRY(check_fwid(r, d, idx, g, claims, err));
    const sb_pubkey *k = d->leaf_key;
    ENSURE(sb_pubkey_type(k) == SB_KEY_EC && sb_pubkey_curve(k) == SB_CURVE_P384, err,
           SB_E_SIGNATURE, W ": device %zu: the signing certificate's key is not ECDSA P-384", idx);
    rc = sb_ecdsa_verify(k, SB_HASH_SHA384, r->signed_part, r->signed_len, r->signature, r->sig_len,
                         SB_ECDSA_RAW_BE, err);
    if (rc < 0) return sb_error_prefix(err, W ": device %zu: SPDM measurements signature", idx);

    if (gpu->nonce)
        ENSURE(gpu->nonce_len == SB_SPDM_NONCE_LEN &&
                   sb_ct_equal(gpu->nonce, r->nonce, SB_SPDM_NONCE_LEN),
               err, SB_E_MALFORMED,
               W ": device %zu: the container's nonce is not the one in the signed request", idx);
    if (o->nonce)
        ENSURE(o->nonce_len == SB_SPDM_NONCE_LEN &&
                   sb_ct_equal(o->nonce, r->nonce, SB_SPDM_NONCE_LEN),
               err, SB_E_POLICY,
               W ": device %zu: nonce mismatch: the signed request nonce is not the expected one "
                 "(%zu bytes given, SPDM nonces are 32): stale or replayed evidence",
               idx, o->nonce_len);

    /* claims */
    json_t *meas = json_object_get(claims, "measurements");
    for (size_t i = 0; i < r->n_blocks; i++) {
        char name[48];
        if (many)
            (void)snprintf(name, sizeof(name), "gpu%zu.block%u", idx, r->blocks[i].index);
        else
            (void)snprintf(name, sizeof(name), "block%u", r->blocks[i].index);
        TRY(jset_hex(meas, name, r->blocks[i].value, r->blocks[i].value_len));
    }
    TRY(jset_hex(g, "nonce", r->nonce, SB_SPDM_NONCE_LEN));
    TRY(jset_hex(g, "response_nonce", r->resp_nonce, SB_SPDM_NONCE_LEN));
    TRY(jset(g, "spdm_version", json_string("1.1")));
    TRY(jset(g, "measurement_blocks", json_integer((json_int_t)r->n_blocks)));
    if (gpu->arch) TRY(jset(g, "arch", json_string(gpu->arch)));
    for (size_t i = 0; i < r->n_fields; i++) {
        const sb_spdm_opaque_field *f = &r->fields[i];
        const char *name = NULL;
        enum nv_render how = NV_HEX;
        for (size_t j = 0; j < SB_ARRAY_LEN(OPAQUE_NAMES); j++)
            if (OPAQUE_NAMES[j].type == f->type)
                name = OPAQUE_NAMES[j].name, how = OPAQUE_NAMES[j].how;
        char other[32];
        if (!name) {
            (void)snprintf(other, sizeof(other), "opaque_%u", f->type);
            name = other;
        }
        TRY(jset(g, name, render(how, f->p, f->n)));
    }
    TRY(jset(g, "signing_certificate", json_string(d->subject)));
    if (json_array_extend(json_object_get(claims, "collateral"),
                          json_object_get(d->collateral, "collateral")) < 0)
        BAIL(err, SB_E_INTERNAL, W ": out of memory");
    TRY(jset(g, "ocsp", json_string("unchecked")));
    TRY(check_rims(rims, r, idx, g, claims, err));
    if (r->trailing) {
        TRY(jset(g, "trailing_bytes", json_integer((json_int_t)r->trailing)));
        TRY(sb_claims_warn(claims,
                           W ": device %zu: %zu byte%s after the SPDM signature (not signed; "
                             "ignored)",
                           idx, r->trailing, r->trailing == 1 ? "" : "s"));
    }
    *dev = d;
    return 0;
}

static const char *product_of(const struct nv_gpu *g, const struct nv_device *d) {
    if (g->arch) {
        if (strcasecmp(g->arch, "hopper") == 0) return "Hopper";
        if (strcasecmp(g->arch, "blackwell") == 0) return "Blackwell";
        return g->arch;
    }
    if (strstr(d->subject, "GH100")) return "Hopper";
    if (strstr(d->subject, "LS10")) return "LS10";
    return NULL;
}

int sb_nvidia_verify(sb_nvidia_ctx *c, const struct sb_verify_opts *o, const struct sb_blob *ev,
                     size_t n_ev, json_t **claims, sb_error *err) {
    ENSURE(c && o && o->at > 0, err, SB_E_USAGE, W ": no verification time");
    struct nv_gpu gpus[NV_MAX_GPUS] = {0};
    size_t n = 0;
    const char *format = "nvidia-spdm", *product = NULL;
    json_t *cl = NULL;
    uint8_t *nb = NULL; /* released at out: (declared before the first goto) */
    json_t *g0 = NULL;
    size_t nl = 0;
    struct nv_rims rims = {0};
    /* XML inputs are RIMs: authenticated first, the rest is the evidence */
    struct sb_blob evs[NV_MAX_GPUS + 1];
    size_t n_evs = 0;
    int rc = 0;
    for (size_t i = 0; i < n_ev && rc == 0; i++) {
        if (has_prefix(ev[i].data, ev[i].len, "<")) {
            if (rims.n == NV_MAX_RIMS)
                rc = sb_error_set(err, SB_E_LIMIT, W ": more than %d RIM files", NV_MAX_RIMS);
            else if ((rc = sb_nv_rim_load(ev[i].data, ev[i].len, &c->rim_root, 1, o->at,
                                          &rims.rim[rims.n], err)) < 0)
                rc = sb_error_prefix(err, "%s", ev[i].name ? ev[i].name : "RIM");
            else
                rims.n++;
        } else if (n_evs == SB_ARRAY_LEN(evs)) {
            rc = sb_error_set(err, SB_E_LIMIT, W ": more than %zu evidence files",
                              SB_ARRAY_LEN(evs));
        } else {
            evs[n_evs++] = ev[i];
        }
    }
    if (rc == 0) rc = load_inputs(o, evs, n_evs, gpus, &n, &format, err);
    if (rc < 0) goto out;
    cl = sb_claims_new("nvidia", format, o->at);
    json_t *pc = json_object_get(cl, "platform_claims");
    json_t *list = json_array();
    if (!cl || !pc || !list || json_object_set_new(pc, "gpus", list) < 0) {
        rc = sb_error_set(err, SB_E_INTERNAL, W ": out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *g = json_object();
        if (!g || json_array_append_new(list, g) < 0) {
            rc = sb_error_set(err, SB_E_INTERNAL, W ": out of memory");
            goto out;
        }
        const struct nv_device *d = NULL;
        if ((rc = verify_gpu(c, o, &gpus[i], i, n > 1, &rims, cl, g, &d, err)) < 0) goto out;
        if (i == 0) product = product_of(&gpus[0], d); /* d may be evicted by later devices */
    }
    bool all_matched = true;
    for (size_t i = 0; i < n; i++) {
        const char *st = json_string_value(json_object_get(json_array_get(list, i), "rim"));
        all_matched &= st && strcmp(st, "matched") == 0;
    }
    for (size_t i = 0; i < rims.n; i++) {
        if (!rims.used[i]) {
            rc = sb_error_set(err, SB_E_POLICY,
                              W ": the RIM %s (version %s, %s) is for neither the driver nor the "
                                "VBIOS version of any device in the evidence",
                              sb_nv_rim_tag_id(rims.rim[i]), sb_nv_rim_version(rims.rim[i]),
                              sb_nv_rim_product(rims.rim[i]));
            goto out;
        }
        int64_t rnb = 0, rna = 0;
        sb_nv_rim_window(rims.rim[i], &rnb, &rna);
        char subj[160];
        (void)snprintf(subj, sizeof(subj), "RIM %s %s", sb_nv_rim_product(rims.rim[i]),
                       sb_nv_rim_version(rims.rim[i]));
        if ((rc = sb_claims_add_collateral(cl, "nvidia-rim", subj, sb_nv_rim_signer(rims.rim[i]),
                                           rnb, rna, "evidence")) < 0)
            goto out;
    }
    /* device 0 speaks for the whole where the schema has one slot; one device is flattened */
    g0 = json_incref(json_array_get(list, 0)); /* outlives "gpus", deleted below for one */
    const char *nonce = json_string_value(json_object_get(g0, "nonce"));
    if ((rc = sb_hex_decode(nonce, strlen(nonce), &nb, &nl, err)) < 0 ||
        (rc = sb_claims_set_hex(cl, NULL, "report_data", nb, nl)) < 0 ||
        (rc = sb_claims_set_str(cl, NULL, "product", product)) < 0)
        goto out;
    if (n == 1 && json_object_update(pc, g0) < 0) rc = SB_E_INTERNAL;
    if (n == 1) (void)json_object_del(pc, "gpus");
    for (size_t i = 1; i < n && rc == 0; i++)
        if (!json_equal(json_object_get(json_array_get(list, i), "nonce"),
                        json_object_get(g0, "nonce")))
            rc = sb_claims_warn(cl, W ": device %zu was asked with another nonce than device 0", i);
    if (rc == 0) rc = jset(pc, "nonce", json_string(nonce));
    if (rc == 0) rc = jset(pc, "devices", json_integer((json_int_t)n));
    json_t *id = json_object_get(cl, "platform_identity");
    json_t *fwid = json_object_get(g0, "fwid");
    if (rc == 0 && fwid) rc = jset(id, "fwid", json_incref(fwid));
    if (rc == 0)
        rc = sb_claims_warn(cl, W ": certificate revocation (OCSP) was not checked (offline): "
                                  "the device certificates are not known to be unrevoked");
    if (rc == 0 && !all_matched)
        rc = sb_claims_warn(cl,
                            W ": measurements were not %scompared with NVIDIA's driver and "
                              "VBIOS reference values (RIMs)",
                            rims.n ? "all " : "");
    if (rc < 0) {
        rc = sb_error_set(err, SB_E_INTERNAL, W ": cannot build claims");
        goto out;
    }
    *claims = TAKE_PTR(cl);
    rc = 0;
out:
    free(nb);
    json_decref(g0);
    json_decref(cl);
    gpus_free(gpus, n);
    rims_clear(&rims);
    return rc;
}

static int nvidia_verify(const struct sb_verify_opts *o, const struct sb_blob *ev, size_t n_ev,
                         json_t **claims, sb_error *err) {
    sb_nvidia_ctx *c = NULL;
    TRY(sb_nvidia_ctx_new(&c, err));
    int rc = sb_nvidia_verify(c, o, ev, n_ev, claims, err);
    sb_nvidia_ctx_free(c);
    return rc;
}

static int nvidia_sniff(const struct sb_blob *ev, size_t n_ev) {
    if (n_ev < 1 || !ev[0].data) return 0;
    const uint8_t *p = ev[0].data;
    size_t n = ev[0].len;
    if (is_hex_spdm(p, n)) return 80;
    if (is_raw_spdm(p, n) && n > SB_SPDM_REQUEST_LEN + 8 && p[SB_SPDM_REQUEST_LEN] == 0x11 &&
        p[SB_SPDM_REQUEST_LEN + 1] == 0x60)
        return 70;
    /* The SDK's evidence list: detected by its members, without parsing (inputs are tens of
     * KB; verify() parses and names what is wrong). "EeAB" is base64 of 11 e0 01. */
    if (is_json(p, n) && n <= NV_MAX_JSON)
        return sb_json_text_has_member(p, n, "evidence", "EeAB") &&
                       sb_json_text_has_member(p, n, "certificate", "")
                   ? 80
                   : 0;
    return 0;
}

const struct sb_verifier sb_verifier_nvidia = {
    .name = "nvidia",
    .sniff = nvidia_sniff,
    .verify = nvidia_verify,
};
