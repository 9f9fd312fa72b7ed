/* Column names and captions, Chinese (the default) or English. */
#include "bureau.h"

static const char *const zh[L_COUNT_LABELS] = {
    [L_HOSPITAL] = "医院编码",
    [L_NAME] = "医院名称",
    [L_SETTLED] = "结算笔数",
    [L_REVERSED] = "冲正笔数",
    [L_TOTAL] = "医疗总费用",
    [L_FUND_TOTAL] = "基金支付合计",
    [L_PATIENT] = "个人支付",
    [L_ALL] = "合计",
    [L_DAY_TITLE] = "结算日报",
    [L_NO_ACTIVITY] = "当日无结算",
    [L_KIND] = "类别",
    [L_SETTLEMENTS] = "结算",
    [L_REVERSALS] = "冲正",
    [L_NET] = "净额",
    [L_COUNT] = "笔数",
    [L_BALANCED] = "对账结果：平",
    [L_UNBALANCED] = "对账结果：不平",
    [L_FIGURE] = "项目",
    [L_ENGINE] = "引擎",
    [L_HOSPITAL_SIDE] = "医院",
    [L_ONLY_ENGINE] = "仅引擎有的结算",
    [L_ONLY_HOSPITAL] = "仅医院有的结算",
    [L_DIFFERING] = "金额不符的结算",
    [L_SETTLEMENT_ID] = "结算号",
    [L_FUND] = "基金",
    [L_AMOUNTS_IN_YUAN] = "金额单位：元；金额为结算减冲正的净额",
    [L_DAY] = "业务日",
};

static const char *const en[L_COUNT_LABELS] = {
    [L_HOSPITAL] = "Hospital",
    [L_NAME] = "Name",
    [L_SETTLED] = "Settled",
    [L_REVERSED] = "Reversed",
    [L_TOTAL] = "Total",
    [L_FUND_TOTAL] = "Funds total",
    [L_PATIENT] = "Patient pays",
    [L_ALL] = "All hospitals",
    [L_DAY_TITLE] = "daily settlements",
    [L_NO_ACTIVITY] = "no settlements that day",
    [L_KIND] = "Kind",
    [L_SETTLEMENTS] = "Settlements",
    [L_REVERSALS] = "Reversals",
    [L_NET] = "Net",
    [L_COUNT] = "Count",
    [L_BALANCED] = "Reconciliation: balanced",
    [L_UNBALANCED] = "Reconciliation: NOT balanced",
    [L_FIGURE] = "Figure",
    [L_ENGINE] = "Engine",
    [L_HOSPITAL_SIDE] = "Hospital",
    [L_ONLY_ENGINE] = "Settlements only the engine has",
    [L_ONLY_HOSPITAL] = "Settlements only the hospital has",
    [L_DIFFERING] = "Settlements whose amounts differ",
    [L_SETTLEMENT_ID] = "Settlement",
    [L_FUND] = "Fund",
    [L_AMOUNTS_IN_YUAN] = "Amounts in yuan, net of reversals",
    [L_DAY] = "Day",
};

const char *label(enum sh_lang lang, enum label which)
{
    if ((unsigned)which >= L_COUNT_LABELS)
        return "?";
    const char *s = (lang == SH_LANG_EN ? en : zh)[which];
    return s != NULL ? s : "?";
}
