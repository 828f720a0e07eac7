/* verify: the verifier table, format auto-detection (sniff) or forcing, loading of input
 * files, dispatch to the platform verifier, and the exit-code contract of every verdict. */
#include <stdio.h>
#include <string.h>

#include "verify.h"

/* One line per platform verifier; each platform owns its line (declared in verify.h). The
 * order only matters for listing: detection picks the highest sniff() score. */
static const struct sb_verifier *const VERIFIERS[] = {
    &sb_verifier_snp,            /* AMD SEV-SNP */
    &sb_verifier_tdx,            /* Intel TDX quotes v4/v5 */
    &sb_verifier_sgx,            /* Intel SGX DCAP quotes */
    &sb_verifier_tpm,            /* TPM 2.0 quotes (GCE, Shielded VM, Trustee) */
    &sb_verifier_nitro,          /* AWS Nitro Enclaves attestation documents */
    &sb_verifier_nvidia,         /* NVIDIA GPU/NVSwitch SPDM measurement reports */
    &sb_verifier_azure_snp_vtpm, /* Azure HCL report + vTPM quote */
    &sb_verifier_software,       /* sealbox software evidence (insecure) */
    NULL,                        /* keep last */
};

const struct sb_verifier *const *sb_verifiers(void) { return VERIFIERS; }

const struct sb_verifier *sb_verifier_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; VERIFIERS[i]; i++)
        if (strcmp(VERIFIERS[i]->name, name) == 0) return VERIFIERS[i];
    return NULL;
}

int sb_verify_detect_in(const struct sb_verifier *const *table, const struct sb_blob *ev,
                        size_t n_ev, const struct sb_verifier **out, sb_error *err) {
    ENSURE(n_ev > 0, err, SB_E_USAGE, "verify: no evidence given");
    int best = 0;
    size_t n_best = 0;
    const struct sb_verifier *pick = NULL;
    for (size_t i = 0; table[i]; i++) {
        int s = table[i]->sniff(ev, n_ev);
        if (s <= 0) continue;
        if (s > best) {
            best = s;
            n_best = 1;
            pick = table[i];
        } else if (s == best) {
            n_best++;
        }
    }
    if (!pick)
        BAIL(err, SB_E_UNSUPPORTED,
             "%s: unrecognized evidence format (no verifier claims it; use --platform to force "
             "one, 'sealbox verify --help' lists them)",
             ev[0].name);
    if (n_best > 1) {
        char names[256] = "";
        size_t used = 0;
        for (size_t i = 0; table[i]; i++) {
            if (table[i]->sniff(ev, n_ev) != best) continue;
            int k = snprintf(names + used, sizeof(names) - used, "%s%s", used ? ", " : "",
                             table[i]->name);
            if (k < 0 || (size_t)k >= sizeof(names) - used) break;
            used += (size_t)k;
        }
        BAIL(err, SB_E_UNSUPPORTED,
             "%s: ambiguous evidence format: it could be %s (choose with --platform)", ev[0].name,
             names);
    }
    *out = pick;
    return 0;
}

int sb_verify_detect(const struct sb_blob *ev, size_t n_ev, const struct sb_verifier **out,
                     sb_error *err) {
    return sb_verify_detect_in(VERIFIERS, ev, n_ev, out, err);
}

struct sb_verify_ctx {
    sb_snp_verifier *snp;
    sb_nitro_ctx *nitro;
    sb_nvidia_ctx *nvidia;
    sb_tpm_ctx *tpm;
    sb_dcap_warm *dcap; /* tdx and sgx */
};

int sb_verify_ctx_new(sb_verify_ctx **out, sb_error *err) {
    sb_verify_ctx *c = calloc(1, sizeof(*c));
    if (!c) BAIL(err, SB_E_INTERNAL, "out of memory");
    *out = c;
    return 0;
}

void sb_verify_ctx_free(sb_verify_ctx *c) {
    if (!c) return;
    sb_snp_verifier_free(c->snp);
    sb_nitro_ctx_free(c->nitro);
    sb_nvidia_ctx_free(c->nvidia);
    sb_tpm_ctx_free(c->tpm);
    sb_dcap_warm_free(c->dcap);
    free(c);
}

/* Runs v with the warm state of c where the platform has one (made on first use). */
static int run_verifier(sb_verify_ctx *c, const struct sb_verifier *v,
                        const struct sb_verify_opts *o, const struct sb_blob *ev, size_t n_ev,
                        json_t **claims, sb_error *err) {
    if (!c) return v->verify(o, ev, n_ev, claims, err);
    if (v == &sb_verifier_snp) {
        if (!c->snp) TRY(sb_snp_verifier_new(&c->snp, err));
        return sb_snp_verify_evidence(c->snp, o, ev, n_ev, claims, err);
    }
    if (v == &sb_verifier_nitro) {
        ENSURE(n_ev == 1, err, SB_E_USAGE,
               "nitro: expected one attestation document, got %zu evidence files", n_ev);
        if (!c->nitro) TRY(sb_nitro_ctx_new(NULL, 0, &c->nitro, err));
        return sb_nitro_verify(c->nitro, o, ev[0].data, ev[0].len, claims, err);
    }
    if (v == &sb_verifier_nvidia) {
        if (!c->nvidia) TRY(sb_nvidia_ctx_new(&c->nvidia, err));
        return sb_nvidia_verify(c->nvidia, o, ev, n_ev, claims, err);
    }
    if (v == &sb_verifier_tpm) {
        if (!c->tpm) TRY(sb_tpm_ctx_new(&c->tpm, err));
        return sb_tpm_verify(c->tpm, o, ev, n_ev, claims, err);
    }
    if (v == &sb_verifier_tdx || v == &sb_verifier_sgx) {
        if (!c->dcap) TRY(sb_dcap_warm_new(&c->dcap, err));
        return sb_dcap_verify_evidence(c->dcap, o, ev, n_ev, v->name, claims, err);
    }
    return v->verify(o, ev, n_ev, claims, err);
}

int sb_verify(const struct sb_verify_opts *o, const char *platform, const struct sb_blob *ev,
              size_t n_ev, const struct sb_verifier **used, json_t **claims, sb_error *err) {
    return sb_verify_with(NULL, o, platform, ev, n_ev, used, claims, err);
}

int sb_verify_with(sb_verify_ctx *ctx, const struct sb_verify_opts *o, const char *platform,
                   const struct sb_blob *ev, size_t n_ev, const struct sb_verifier **used,
                   json_t **claims, sb_error *err) {
    ENSURE(n_ev > 0 && n_ev <= SB_VERIFY_MAX_FILES, err, SB_E_USAGE,
           "verify: %zu evidence files given (1 to %u)", n_ev, SB_VERIFY_MAX_FILES);
    const struct sb_verifier *v = NULL;
    if (!platform || strcmp(platform, "auto") == 0) {
        TRY(sb_verify_detect(ev, n_ev, &v, err));
    } else {
        v = sb_verifier_find(platform);
        if (!v) {
            char names[256] = "";
            size_t k = 0;
            for (size_t i = 0; VERIFIERS[i]; i++) {
                int w = snprintf(names + k, sizeof(names) - k, "%s%s", k ? ", " : "",
                                 VERIFIERS[i]->name);
                if (w < 0 || (size_t)w >= sizeof(names) - k) break;
                k += (size_t)w;
            }
            BAIL(err, SB_E_USAGE, "--platform %s: no such verifier (known: auto%s%s)", platform,
                 k ? ", " : "", names);
        }
    }
    json_t *c = NULL;
    int rc = run_verifier(ctx, v, o, ev, n_ev, &c, err);
    if (rc < 0) {
        json_decref(c);
        if (err && err->code == 0) (void)sb_error_set(err, rc, "%s: %s", v->name, sb_strerror(rc));
        return rc;
    }
    if (!json_is_object(c)) {
        json_decref(c);
        BAIL(err, SB_E_INTERNAL, "%s: verifier returned no claims", v->name);
    }
    if (used) *used = v;
    *claims = c;
    return 0;
}

int sb_blobs_load(char *const *paths, size_t n, struct sb_blob **out, sb_error *err) {
    ENSURE(n <= SB_VERIFY_MAX_FILES, err, SB_E_LIMIT, "verify: %zu files given, at most %u", n,
           SB_VERIFY_MAX_FILES);
    struct sb_blob *v = calloc(n ? n : 1, sizeof(*v));
    if (!v) BAIL(err, SB_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        uint8_t *data = NULL;
        size_t len = 0;
        int rc = sb_read_file(paths[i], SB_VERIFY_MAX_FILE_SIZE, &data, &len, err);
        if (rc < 0) {
            sb_blobs_free(v, i);
            return rc;
        }
        v[i].name = paths[i];
        v[i].data = data;
        v[i].len = len;
    }
    *out = v;
    return 0;
}

void sb_blobs_free(struct sb_blob *v, size_t n) {
    if (!v) return;
    for (size_t i = 0; i < n; i++)
        free((void *)(uintptr_t)v[i].data);
    free(v);
}

int sb_verify_exit_code(int rc) {
    if (rc == 0) return 0;
    if (rc == SB_E_POLICY) return 1;
    return 2;
}
