/* The envelope's fixed parts: infcodes and their Chinese texts, error
 * replies, times, and the optional x-tif-* signature. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw.h"
#include "gw_num.h"

/* The engine's refusals (proto/sanhe.proto ErrorCode), as counter staff
 * read them. docs/gateway.md lists the table. */
const char *gw_refusal_text(int code)
{
    switch (code) {
    case SANHE__ERROR_CODE__BAD_CLAIM:
        return "就诊或费用明细信息不合法";
    case SANHE__ERROR_CODE__BAD_PERSON_ID:
        return "人员证件号码不合法";
    case SANHE__ERROR_CODE__UNKNOWN_HOSPITAL:
        return "定点医药机构不存在";
    case SANHE__ERROR_CODE__UNKNOWN_PERSON:
        return "参保人员不存在";
    case SANHE__ERROR_CODE__PERSON_DECEASED:
        return "人员已死亡，不能结算";
    case SANHE__ERROR_CODE__NO_POLICY:
        return "结算日期无有效的待遇政策";
    case SANHE__ERROR_CODE__UNKNOWN_ITEM:
        return "医疗目录项目不存在";
    case SANHE__ERROR_CODE__NOT_FOUND:
        return "结算记录不存在";
    case SANHE__ERROR_CODE__ALREADY_REVERSED:
        return "结算已冲正或已撤销";
    case SANHE__ERROR_CODE__FORBIDDEN:
        return "无权办理该业务";
    case SANHE__ERROR_CODE__REQUEST_ID_REUSED:
        return "报文ID已用于其他交易";
    case SANHE__ERROR_CODE__BAD_REQUEST:
        return "交易请求不合法";
    case SANHE__ERROR_CODE__LIMIT_EXCEEDED:
        return "超出结算引擎的限制";
    case SANHE__ERROR_CODE__LOOKUP_RATE_EXCEEDED:
        /* The hospital's calls share the gateway's one terminal at the
         * engine (docs/gateway.md, "Engines"): a retry a little later. */
        return "查询过于频繁，超出结算引擎对本机构终端的查询频率限制，请稍后重试";
    case SANHE__ERROR_CODE__QUOTA_EXCEEDED:
        /* A ceiling of the institution's day (docs/limits.md, "Write
         * quotas"): nothing was written, and a retry today meets it again. */
        return "本机构今日结算业务量已达上限，请联系医保经办机构";
    case SANHE__ERROR_CODE__CLAIM_TOO_LARGE:
        return "费用明细条数超过该就诊类型的上限";
    default:
        return "系统错误";
    }
}

int64_t gw_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void gw_time_text(int64_t unix_ms, char out[20])
{
    time_t t = (time_t)(unix_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm);
}

char *gw_env_error(int infcode, const char *err_msg, size_t *len)
{
    char now[20];
    gw_time_text(gw_unix_ms(), now);
    json_t *doc = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:n}", "infcode", (json_int_t)infcode,
                            "inf_refmsgid", "", "refmsg_time", now, "respond_time", now, "err_msg",
                            err_msg, "warn_msg", "", "output");
    char *out = doc != NULL ? gw_json_dump(doc, len) : NULL;
    json_decref(doc);
    return out;
}

/* hex(HMAC-SHA256(key, paasid "\n" timestamp "\n" nonce "\n" body)), and the
 * timestamp (unix seconds) within signature_skew_s of now. */
int gw_env_check_signature(const struct gw_request *r, const struct gw_config *c, char *why,
                           size_t size)
{
    if (c->signature_key[0] == '\0')
        return 0;
    if (r->tif_timestamp[0] == '\0' || r->tif_nonce[0] == '\0' || r->tif_signature[0] == '\0') {
        snprintf(why, size, "缺少x-tif签名请求头");
        return -1;
    }
    char *end = NULL;
    long long ts = strtoll(r->tif_timestamp, &end, 10);
    long long now = (long long)(gw_unix_ms() / 1000);
    if (end == r->tif_timestamp || *end != '\0' || ts < now - c->signature_skew_s ||
        ts > now + c->signature_skew_s) {
        snprintf(why, size, "x-tif-timestamp超出允许的时间范围");
        return -1;
    }
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    size_t head_len = strlen(r->tif_paasid) + strlen(r->tif_timestamp) + strlen(r->tif_nonce) + 3;
    char *msg = malloc(head_len + r->body_len + 1);
    if (msg == NULL) {
        snprintf(why, size, "系统错误");
        return -1;
    }
    int n =
        snprintf(msg, head_len + 1, "%s\n%s\n%s\n", r->tif_paasid, r->tif_timestamp, r->tif_nonce);
    memcpy(msg + n, r->body, r->body_len);
    HMAC(EVP_sha256(), c->signature_key, (int)strlen(c->signature_key), (unsigned char *)msg,
         (size_t)n + r->body_len, mac, &mac_len);
    free(msg);
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    for (unsigned i = 0; i < mac_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    if (strlen(r->tif_signature) != 2 * mac_len ||
        CRYPTO_memcmp(hex, r->tif_signature, 2 * mac_len) != 0) {
        snprintf(why, size, "x-tif-signature签名校验失败");
        return -1;
    }
    return 0;
}
