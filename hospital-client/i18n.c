#include "i18n.h"

#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SANHE_LOCALEDIR_INSTALL
#define SANHE_LOCALEDIR_INSTALL "/usr/local/share/locale"
#endif
#ifndef SANHE_LOCALEDIR_BUILD
#define SANHE_LOCALEDIR_BUILD ""
#endif

#define CATALOG "/zh_CN/LC_MESSAGES/" SH_TEXT_DOMAIN ".mo"

static char bound_dir[PATH_MAX];

enum sh_lang sh_i18n_lang_default(void)
{
    static const char *const vars[] = {"LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v != NULL && v[0] != '\0')
            return strncmp(v, "en", 2) == 0 ? SH_LANG_EN : SH_LANG_ZH;
    }
    return SH_LANG_ZH;
}

static int has_catalog(const char *dir)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s" CATALOG, dir);
    return dir[0] != '\0' && n > 0 && (size_t)n < sizeof path && access(path, R_OK) == 0;
}

/* BIN/../share/locale of the running program: an installed prefix. */
static void prefix_dir(char *out, size_t size)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    out[0] = '\0';
    if (n <= 0)
        return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    static const char rel[] = "/../share/locale";
    if (slash != NULL && (size_t)(slash - exe) + sizeof rel <= size) {
        memcpy(out, exe, (size_t)(slash - exe));
        memcpy(out + (slash - exe), rel, sizeof rel);
    }
}

static const char *find_dir(void)
{
    static char prefix[PATH_MAX];
    const char *env = getenv("SANHE_LOCALEDIR");
    if (env != NULL && has_catalog(env))
        return env;
    prefix_dir(prefix, sizeof prefix);
    const char *const dirs[] = {prefix, SANHE_LOCALEDIR_INSTALL, SANHE_LOCALEDIR_BUILD};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (has_catalog(dirs[i]))
            return dirs[i];
    return NULL;
}

static enum sh_lang current_lang = SH_LANG_ZH;

enum sh_lang sh_i18n_lang(void) { return current_lang; }

int sh_i18n_init(enum sh_lang lang)
{
    current_lang = lang;
    /* gettext translates nothing in the C locale, and ignores LANGUAGE
     * there; C.UTF-8 is always present on Debian and is not "C". */
    const char *m = setlocale(LC_MESSAGES, "");
    if (m == NULL || strcmp(m, "C") == 0 || strcmp(m, "POSIX") == 0)
        setlocale(LC_MESSAGES, "C.UTF-8");
    setlocale(LC_CTYPE, "");
    setenv("LANGUAGE", lang == SH_LANG_EN ? "en" : "zh_CN", 1);
    const char *dir = find_dir();
    snprintf(bound_dir, sizeof bound_dir, "%s", dir != NULL ? dir : "");
    if (dir != NULL)
        bindtextdomain(SH_TEXT_DOMAIN, dir);
    bind_textdomain_codeset(SH_TEXT_DOMAIN, "UTF-8");
    return dir != NULL || lang == SH_LANG_EN ? 0 : -1;
}

const char *sh_i18n_dir(void) { return bound_dir; }
