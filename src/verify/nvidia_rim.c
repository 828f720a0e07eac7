/* nvidia_rim (verify): NVIDIA reference integrity manifests — the ISO 19770-2 SWID tags,
 * signed with an enveloped XML signature (C14N 1.1, ECDSA P-384/SHA-384, the signer's chain in
 * KeyInfo), that carry the golden measurements of a driver or VBIOS release — and their
 * comparison with the measurement blocks of an SPDM report.
 *
 * The XML is untrusted: libxml2 parses it with the network off, no DTD (a DOCTYPE is refused,
 * so no entity can expand), no entity substitution and a size limit; then the signature is
 * checked (digest over the canonical document without its Signature element, ECDSA over the
 * canonical SignedInfo, the chain to the pinned root at an explicit time) before any value of
 * the payload is read. */
#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>
#include <strings.h>

#include "crypto/crypto.h"
#include "verify.h"

#define W "nvidia RIM"
#define RIM_MAX_CERTS 8
#define RIM_MAX_DEPTH 16 /* element nesting accepted */

#define NS_SWID "http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
#define NS_DSIG "http://www.w3.org/2000/09/xmldsig#"
#define NS_TCG_RIM                                                                                 \
    "https://trustedcomputinggroup.org/resource/tcg-reference-integrity-manifest-rim-information-" \
    "model/"
#define NS_HASH384 "http://www.w3.org/2001/04/xmlenc#sha384"
#define ALG_C14N11 "http://www.w3.org/2006/12/xml-c14n11"
#define ALG_ENVELOPED "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
#define ALG_ECDSA384 "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
#define ALG_SHA384 "http://www.w3.org/2001/04/xmldsig-more#sha384"

struct rim_meas {
    unsigned index; /* 0-based: SPDM block index - 1 */
    size_t size;    /* bytes per value */
    size_t n_alt;
    uint8_t *alt[SB_NV_RIM_MAX_ALTERNATIVES];
};

struct sb_nv_rim {
    char *version;  /* Meta colloquialVersion: "550.144.03", "96.00.5E.00.01" */
    char *product;  /* Meta product: "GH100", "LS10" */
    char *tag_id;   /* SoftwareIdentity tagId */
    char *signer;   /* the signing certificate's subject */
    int64_t nb, na; /* the intersection of the signer chain's validity windows */
    size_t n_meas;  /* active measurements only */
    struct rim_meas meas[SB_NV_RIM_MAX_MEASUREMENTS];
};

void sb_nv_rim_free(sb_nv_rim *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n_meas; i++)
        for (size_t j = 0; j < r->meas[i].n_alt; j++)
            free(r->meas[i].alt[j]);
    free(r->version);
    free(r->product);
    free(r->tag_id);
    free(r->signer);
    free(r);
}

const char *sb_nv_rim_version(const sb_nv_rim *r) { return r->version; }
const char *sb_nv_rim_product(const sb_nv_rim *r) { return r->product; }
const char *sb_nv_rim_tag_id(const sb_nv_rim *r) { return r->tag_id; }
const char *sb_nv_rim_signer(const sb_nv_rim *r) { return r->signer; }
size_t sb_nv_rim_measurements(const sb_nv_rim *r) { return r->n_meas; }
void sb_nv_rim_window(const sb_nv_rim *r, int64_t *nb, int64_t *na) {
    *nb = r->nb;
    *na = r->na;
}

/* ---- the tree ------------------------------------------------------------------------------ */

static bool is_el(const xmlNode *n, const char *ns, const char *name) {
    return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           strcmp((const char *)n->ns->href, ns) == 0 && strcmp((const char *)n->name, name) == 0;
}

/* The only child element of parent named ns:name; any other element child is refused when
 * strict (SignedInfo and its parts have a fixed shape). */
static int child(const xmlNode *parent, const char *ns, const char *name, bool strict,
                 xmlNode **out, sb_error *err) {
    xmlNode *found = NULL;
    for (xmlNode *c = parent->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        if (is_el(c, ns, name)) {
            ENSURE(!found, err, SB_E_MALFORMED, W ": %s: more than one %s element",
                   (const char *)parent->name, name);
            found = c;
        } else if (strict) {
            BAIL(err, SB_E_MALFORMED, W ": %s: unexpected element %s", (const char *)parent->name,
                 (const char *)c->name);
        }
    }
    ENSURE(found, err, SB_E_MALFORMED, W ": %s: no %s element", (const char *)parent->name, name);
    *out = found;
    return 0;
}

/* An attribute's value (no namespace unless ns), or NULL; *owned is freed by the caller. */
static const char *attr(const xmlNode *n, const char *ns, const char *name, xmlChar **owned) {
    *owned = ns ? xmlGetNsProp(n, (const xmlChar *)name, (const xmlChar *)ns)
                : xmlGetNoNsProp(n, (const xmlChar *)name);
    return (const char *)*owned;
}

static int want_alg(const xmlNode *n, const char *want, const char *what, sb_error *err) {
    xmlChar *v = NULL;
    const char *a = attr(n, NULL, "Algorithm", &v);
    int rc = 0;
    if (!a)
        rc = sb_error_set(err, SB_E_MALFORMED, W ": %s has no Algorithm", what);
    else if (strcmp(a, want) != 0)
        rc = sb_error_set(err, SB_E_UNSUPPORTED, W ": %s %.120s is not supported (only %s)", what,
                          a, want);
    xmlFree(v);
    return rc;
}

/* The text of an element holding base64 (whitespace allowed), decoded. */
static int b64_text(const xmlNode *n, const char *what, size_t max, uint8_t **out, size_t *len,
                    sb_error *err) {
    xmlChar *t = xmlNodeGetContent(n);
    if (!t) BAIL(err, SB_E_INTERNAL, W ": out of memory");
    size_t tl = strlen((const char *)t);
    int rc = 0;
    if (tl > max / 3 * 4 + 4 + tl / 8) /* base64 of max bytes, plus line breaks */
        rc = sb_error_set(err, SB_E_LIMIT, W ": %s: %zu characters (over the %zu-byte limit)", what,
                          tl, max);
    else
        rc = sb_base64_decode((const char *)t, tl, true, out, len, err);
    xmlFree(t);
    if (rc < 0) return sb_error_prefix(err, W ": %s", what);
    if (*len > max) {
        free(*out);
        *out = NULL;
        BAIL(err, SB_E_LIMIT, W ": %s: %zu bytes (at most %zu)", what, *len, max);
    }
    return 0;
}

/* ---- canonicalization -------------------------------------------------------------------- */

/* C14N visibility: the subtree of `keep` only, or everything outside `drop`. */
struct c14n_sel {
    const xmlNode *keep, *drop;
};

static bool inside(const xmlNode *n, const xmlNode *top) {
    for (; n; n = n->parent)
        if (n == top) return true;
    return false;
}

static int c14n_visible(void *user, xmlNodePtr node, xmlNodePtr parent) {
    const struct c14n_sel *s = user;
    const xmlNode *n = node;
    /* namespace nodes are xmlNs structures: they belong to their parent element */
    if (!node || node->type == XML_NAMESPACE_DECL || node->type == XML_ATTRIBUTE_NODE) n = parent;
    if (s->keep) return inside(n, s->keep);
    return !inside(n, s->drop);
}

static int c14n(xmlDoc *d, const struct c14n_sel *sel, uint8_t **out, size_t *len, sb_error *err) {
    xmlOutputBuffer *ob = xmlAllocOutputBuffer(NULL);
    if (!ob) BAIL(err, SB_E_INTERNAL, W ": out of memory");
    int rc = xmlC14NExecute(d, c14n_visible, (void *)sel, XML_C14N_1_1, NULL, 0, ob);
    size_t n = xmlOutputBufferGetSize(ob);
    const xmlChar *p = xmlOutputBufferGetContent(ob);
    if (rc < 0 || !p) {
        xmlOutputBufferClose(ob);
        BAIL(err, SB_E_MALFORMED, W ": the document cannot be canonicalized (C14N 1.1)");
    }
    *out = malloc(n ? n : 1);
    if (*out) memcpy(*out, p, n);
    *len = n;
    xmlOutputBufferClose(ob);
    ENSURE(*out, err, SB_E_INTERNAL, W ": out of memory");
    return 0;
}

/* ---- the signature ------------------------------------------------------------------------- */

struct dsig {
    xmlNode *sig, *signed_info;
    uint8_t *digest; /* DigestValue, 48 bytes */
    size_t digest_len;
    uint8_t *value; /* SignatureValue, raw r||s */
    size_t value_len;
    sb_cert *certs[RIM_MAX_CERTS];
    size_t n_certs;
};

static void dsig_clear(struct dsig *s) {
    free(s->digest);
    free(s->value);
    for (size_t i = 0; i < s->n_certs; i++)
        sb_cert_free(s->certs[i]);
}

/* SignedInfo must say exactly what we check: C14N 1.1, ECDSA P-384 with SHA-384, one Reference
 * to the whole document with the enveloped-signature and C14N 1.1 transforms, SHA-384. */
static int parse_signed_info(struct dsig *s, sb_error *err) {
    xmlNode *si = s->signed_info, *n = NULL, *ref = NULL, *tr = NULL;
    TRY(child(si, NS_DSIG, "CanonicalizationMethod", false, &n, err));
    TRY(want_alg(n, ALG_C14N11, "CanonicalizationMethod", err));
    TRY(child(si, NS_DSIG, "SignatureMethod", false, &n, err));
    TRY(want_alg(n, ALG_ECDSA384, "SignatureMethod", err));
    TRY(child(si, NS_DSIG, "Reference", false, &ref, err));
    for (xmlNode *c = si->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && !is_el(c, NS_DSIG, "CanonicalizationMethod") &&
            !is_el(c, NS_DSIG, "SignatureMethod") && !is_el(c, NS_DSIG, "Reference"))
            BAIL(err, SB_E_MALFORMED, W ": SignedInfo: unexpected element %s",
                 (const char *)c->name);
    xmlChar *u = NULL;
    const char *uri = attr(ref, NULL, "URI", &u);
    bool whole = uri && uri[0] == 0;
    xmlFree(u);
    ENSURE(whole, err, SB_E_UNSUPPORTED,
           W ": Reference: only URI=\"\" (the whole document) is accepted");
    TRY(child(ref, NS_DSIG, "Transforms", false, &tr, err));
    const char *want[] = {ALG_ENVELOPED, ALG_C14N11};
    size_t k = 0;
    for (xmlNode *c = tr->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        ENSURE(is_el(c, NS_DSIG, "Transform") && k < SB_ARRAY_LEN(want), err, SB_E_UNSUPPORTED,
               W ": Transforms: only enveloped-signature then C14N 1.1 are accepted");
        TRY(want_alg(c, want[k], "Transform", err));
        k++;
    }
    ENSURE(k == SB_ARRAY_LEN(want), err, SB_E_UNSUPPORTED,
           W ": Transforms: only enveloped-signature then C14N 1.1 are accepted");
    TRY(child(ref, NS_DSIG, "DigestMethod", false, &n, err));
    TRY(want_alg(n, ALG_SHA384, "DigestMethod", err));
    TRY(child(ref, NS_DSIG, "DigestValue", false, &n, err));
    TRY(b64_text(n, "DigestValue", 64, &s->digest, &s->digest_len, err));
    ENSURE(s->digest_len == 48, err, SB_E_MALFORMED, W ": DigestValue: %zu bytes, not 48",
           s->digest_len);
    return 0;
}

static int parse_signature(xmlNode *root, struct dsig *s, sb_error *err) {
    TRY(child(root, NS_DSIG, "Signature", false, &s->sig, err));
    TRY(child(s->sig, NS_DSIG, "SignedInfo", false, &s->signed_info, err));
    TRY(parse_signed_info(s, err));
    xmlNode *n = NULL, *ki = NULL, *xd = NULL;
    TRY(child(s->sig, NS_DSIG, "SignatureValue", false, &n, err));
    TRY(b64_text(n, "SignatureValue", 132, &s->value, &s->value_len, err));
    ENSURE(s->value_len == 96, err, SB_E_MALFORMED,
           W ": SignatureValue: %zu bytes, not 96 (ECDSA P-384 r||s)", s->value_len);
    TRY(child(s->sig, NS_DSIG, "KeyInfo", false, &ki, err));
    TRY(child(ki, NS_DSIG, "X509Data", false, &xd, err));
    for (xmlNode *c = xd->children; c; c = c->next) {
        if (!is_el(c, NS_DSIG, "X509Certificate")) continue;
        ENSURE(s->n_certs < RIM_MAX_CERTS, err, SB_E_LIMIT,
               W ": X509Data: more than %d certificates", RIM_MAX_CERTS);
        _cleanup_free_ uint8_t *der = NULL;
        size_t dl = 0;
        TRY(b64_text(c, "X509Certificate", 16384, &der, &dl, err));
        int rc = sb_cert_from_der(der, dl, &s->certs[s->n_certs], err);
        if (rc < 0) return sb_error_prefix(err, W ": X509Certificate %zu", s->n_certs);
        s->n_certs++;
    }
    ENSURE(s->n_certs > 0, err, SB_E_MALFORMED, W ": X509Data holds no certificate");
    return 0;
}

/* The signer (the first certificate) chains to one of roots at `at`; the other certificates
 * are intermediates (a copy of a root among them is harmless). */
static int check_chain(struct dsig *s, sb_cert *const *roots, size_t n_roots, int64_t at,
                       sb_nv_rim *r, sb_error *err) {
    int rc = sb_x509_verify_chain(s->certs[0], s->certs + 1, s->n_certs - 1, roots, n_roots, NULL,
                                  0, at, 0, err);
    if (rc < 0) return sb_error_prefix(err, W ": signer chain");
    r->nb = INT64_MIN;
    r->na = INT64_MAX;
    for (size_t i = 0; i < s->n_certs; i++) {
        if (sb_cert_not_before(s->certs[i]) > r->nb) r->nb = sb_cert_not_before(s->certs[i]);
        if (sb_cert_not_after(s->certs[i]) < r->na) r->na = sb_cert_not_after(s->certs[i]);
    }
    r->signer = sb_cert_subject(s->certs[0]);
    ENSURE(r->signer, err, SB_E_INTERNAL, W ": out of memory");
    return 0;
}

static int check_signature(xmlDoc *d, struct dsig *s, sb_error *err) {
    _cleanup_free_ uint8_t *doc = NULL, *si = NULL;
    size_t dl = 0, sl = 0;
    struct c14n_sel without_sig = {.drop = s->sig}, only_si = {.keep = s->signed_info};
    TRY(c14n(d, &without_sig, &doc, &dl, err));
    uint8_t md[48];
    TRY(sb_hash(SB_HASH_SHA384, doc, dl, md, err));
    ENSURE(sb_ct_equal(md, s->digest, 48), err, SB_E_SIGNATURE,
           W ": the document's SHA-384 digest is not the signed DigestValue (the manifest was "
             "changed after signing)");
    TRY(c14n(d, &only_si, &si, &sl, err));
    sb_pubkey *k = NULL;
    TRY(sb_cert_pubkey(s->certs[0], &k, err));
    int rc = 0;
    if (sb_pubkey_type(k) != SB_KEY_EC || sb_pubkey_curve(k) != SB_CURVE_P384)
        rc = sb_error_set(err, SB_E_SIGNATURE, W ": the signer's key is not ECDSA P-384");
    else if ((rc = sb_ecdsa_verify(k, SB_HASH_SHA384, si, sl, s->value, s->value_len,
                                   SB_ECDSA_RAW_BE, err)) < 0)
        rc = sb_error_prefix(err, W ": SignatureValue over SignedInfo");
    sb_pubkey_free(k);
    return rc;
}

/* ---- the payload (read only after the signature holds) ------------------------------------ */

static int dup_attr(const xmlNode *n, const char *ns, const char *name, const char *what,
                    char **out, sb_error *err) {
    xmlChar *v = NULL;
    const char *a = attr(n, ns, name, &v);
    if (!a || !*a || strlen(a) > 128) {
        xmlFree(v);
        BAIL(err, SB_E_MALFORMED, W ": %s: %s is %s", what, name,
             a && *a ? "longer than 128 characters" : "missing");
    }
    *out = strdup(a);
    xmlFree(v);
    ENSURE(*out, err, SB_E_INTERNAL, W ": out of memory");
    return 0;
}

static int parse_uint(const char *s, unsigned max, unsigned *out) {
    if (!s || !*s || strlen(s) > 6) return -1;
    unsigned v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (v > max) return -1;
    *out = v;
    return 0;
}

static int parse_resource(const xmlNode *n, sb_nv_rim *r, sb_error *err) {
    xmlChar *t = NULL, *ix = NULL, *ac = NULL, *al = NULL, *sz = NULL;
    const char *type = attr(n, NULL, "type", &t), *idx = attr(n, NULL, "index", &ix),
               *active = attr(n, NULL, "active", &ac), *alts = attr(n, NULL, "alternatives", &al),
               *size = attr(n, NULL, "size", &sz);
    unsigned index = 0, n_alt = 0, bytes = 0;
    int rc = 0;
    if (!type || strcmp(type, "Measurement") != 0) goto out; /* other resources: not ours */
    if (parse_uint(idx, 253, &index) < 0) {
        rc = sb_error_set(err, SB_E_MALFORMED, W ": Resource index %.16s is not 0..253",
                          idx ? idx : "(missing)");
        goto out;
    }
    if (!active || (strcmp(active, "True") != 0 && strcmp(active, "False") != 0)) {
        rc = sb_error_set(err, SB_E_MALFORMED, W ": Resource %u: active is not True or False",
                          index);
        goto out;
    }
    if (strcmp(active, "False") == 0) goto out;
    if (parse_uint(alts, SB_NV_RIM_MAX_ALTERNATIVES, &n_alt) < 0 || n_alt == 0 ||
        parse_uint(size, 64, &bytes) < 0 || bytes == 0) {
        rc = sb_error_set(err, SB_E_MALFORMED,
                          W ": Resource %u: alternatives must be 1..%d and size 1..64", index,
                          SB_NV_RIM_MAX_ALTERNATIVES);
        goto out;
    }
    for (size_t i = 0; i < r->n_meas; i++)
        if (r->meas[i].index == index) {
            rc = sb_error_set(err, SB_E_MALFORMED, W ": Resource index %u appears twice", index);
            goto out;
        }
    if (r->n_meas >= SB_NV_RIM_MAX_MEASUREMENTS) {
        rc = sb_error_set(err, SB_E_LIMIT, W ": more than %d active measurements",
                          SB_NV_RIM_MAX_MEASUREMENTS);
        goto out;
    }
    struct rim_meas *m = &r->meas[r->n_meas++];
    m->index = index;
    m->size = bytes;
    for (unsigned k = 0; k < n_alt && rc == 0; k++) {
        char name[16];
        (void)snprintf(name, sizeof(name), "Hash%u", k);
        xmlChar *hv = NULL;
        const char *h = attr(n, NS_HASH384, name, &hv);
        size_t hl = 0;
        if (!h)
            rc = sb_error_set(err, SB_E_MALFORMED, W ": Resource %u: %s is missing", index, name);
        else if (strlen(h) != 2 * (size_t)bytes)
            rc = sb_error_set(err, SB_E_MALFORMED,
                              W ": Resource %u: %s has %zu hex digits, size says %u bytes", index,
                              name, strlen(h), bytes);
        else if (sb_hex_decode(h, strlen(h), &m->alt[k], &hl, err) < 0)
            rc = sb_error_prefix(err, W ": Resource %u: %s", index, name);
        else
            m->n_alt++;
        xmlFree(hv);
    }
out:
    xmlFree(t);
    xmlFree(ix);
    xmlFree(ac);
    xmlFree(al);
    xmlFree(sz);
    return rc;
}

static int parse_payload(const xmlNode *root, sb_nv_rim *r, sb_error *err) {
    xmlNode *meta = NULL, *payload = NULL;
    TRY(child(root, NS_SWID, "Meta", false, &meta, err));
    TRY(dup_attr(meta, NULL, "colloquialVersion", "Meta", &r->version, err));
    TRY(dup_attr(meta, NULL, "product", "Meta", &r->product, err));
    TRY(dup_attr(root, NULL, "tagId", "SoftwareIdentity", &r->tag_id, err));
    TRY(child(root, NS_SWID, "Payload", false, &payload, err));
    for (xmlNode *c = payload->children; c; c = c->next)
        if (is_el(c, NS_SWID, "Resource")) TRY(parse_resource(c, r, err));
    ENSURE(r->n_meas > 0, err, SB_E_MALFORMED, W ": Payload has no active measurement");
    return 0;
}

/* Depth of the element tree, bounded (libxml2 itself stops at 256 levels). */
static bool too_deep(const xmlNode *n, unsigned depth) {
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) continue;
        if (depth >= RIM_MAX_DEPTH || too_deep(n->children, depth + 1)) return true;
    }
    return false;
}

int sb_nv_rim_load(const uint8_t *xml, size_t len, sb_cert *const *roots, size_t n_roots,
                   int64_t at, sb_nv_rim **out, sb_error *err) {
    ENSURE(xml && roots && n_roots && at > 0, err, SB_E_USAGE, W ": no input, roots or time");
    ENSURE(len > 0, err, SB_E_TRUNCATED, W ": empty");
    ENSURE(len <= SB_NV_RIM_MAX_BYTES, err, SB_E_LIMIT, W ": %zu bytes (at most %d)", len,
           SB_NV_RIM_MAX_BYTES);
    xmlParserCtxt *ctx = xmlNewParserCtxt();
    if (!ctx) BAIL(err, SB_E_INTERNAL, W ": out of memory");
    xmlDoc *d = xmlCtxtReadMemory(ctx, (const char *)xml, (int)len, "rim.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    sb_nv_rim *r = NULL;
    struct dsig s = {0};
    int rc = 0;
    if (!d) {
        const xmlError *e = xmlCtxtGetLastError(ctx);
        rc = sb_error_set(err, SB_E_MALFORMED, W ": not well-formed XML (line %d: %.160s)",
                          e ? e->line : 0, e && e->message ? e->message : "unknown error");
        goto out;
    }
    xmlNode *root = xmlDocGetRootElement(d);
    if (d->intSubset || d->extSubset) {
        rc = sb_error_set(err, SB_E_UNSUPPORTED, W ": a DOCTYPE is not accepted");
        goto out;
    }
    if (!is_el(root, NS_SWID, "SoftwareIdentity")) {
        rc = sb_error_set(err, SB_E_MALFORMED,
                          W ": the root element is not a SWID SoftwareIdentity (%s)", NS_SWID);
        goto out;
    }
    if (too_deep(root, 0)) {
        rc = sb_error_set(err, SB_E_LIMIT, W ": elements nested deeper than %d", RIM_MAX_DEPTH);
        goto out;
    }
    r = calloc(1, sizeof(*r));
    if (!r) {
        rc = sb_error_set(err, SB_E_INTERNAL, W ": out of memory");
        goto out;
    }
    if ((rc = parse_signature(root, &s, err)) < 0 ||
        (rc = check_chain(&s, roots, n_roots, at, r, err)) < 0 ||
        (rc = check_signature(d, &s, err)) < 0 || (rc = parse_payload(root, r, err)) < 0)
        goto out;
    *out = TAKE_PTR(r);
out:
    dsig_clear(&s);
    sb_nv_rim_free(r);
    xmlFreeDoc(d);
    xmlFreeParserCtxt(ctx);
    return rc;
}

/* ---- comparison ---------------------------------------------------------------------------- */

int sb_nv_rim_compare(const sb_nv_rim *r, const sb_spdm_report *rep, char *why, size_t why_len,
                      size_t *n_mismatch) {
    size_t bad = 0, used = 0;
    why[0] = 0;
    for (size_t i = 0; i < r->n_meas; i++) {
        const struct rim_meas *m = &r->meas[i];
        const sb_spdm_block *b = NULL;
        for (size_t j = 0; j < rep->n_blocks; j++)
            if (rep->blocks[j].index == m->index + 1) b = &rep->blocks[j];
        bool ok = false;
        if (b && b->value_len == m->size)
            for (size_t k = 0; k < m->n_alt && !ok; k++)
                ok = sb_ct_equal(b->value, m->alt[k], m->size);
        if (ok) continue;
        if (bad++ < 4 && used < why_len) {
            int w =
                snprintf(why + used, why_len - used, "%sblock%u %s", used ? ", " : "", m->index + 1,
                         !b                        ? "is missing"
                         : b->value_len != m->size ? "has another size"
                                                   : "matches no reference value");
            if (w > 0) used += (size_t)w;
        }
    }
    if (bad > 4 && used < why_len) (void)snprintf(why + used, why_len - used, ", …");
    *n_mismatch = bad;
    return bad ? SB_E_POLICY : 0;
}
