/*
 * Messages of sanhe-counter and sanhe-bureau, through GNU gettext. The
 * source text is English (the msgid); po/zh_CN.po is the Chinese catalog,
 * compiled by msgfmt at build time into LOCALEDIR/zh_CN/LC_MESSAGES/sanhe.mo.
 * English needs no catalog: an untranslated message shows its msgid.
 */
#ifndef SH_I18N_H
#define SH_I18N_H

#include <libintl.h>

#define SH_TEXT_DOMAIN "sanhe"

/* dgettext, so that the library code printing receipts finds its catalog
 * whatever the program's own text domain. */
#define _(s) dgettext(SH_TEXT_DOMAIN, s)
/* Marks a string for xgettext where it is translated later (tables). */
#define N_(s) (s)

enum sh_lang { SH_LANG_ZH = 0, SH_LANG_EN };

/* The language the locale asks for (LANGUAGE, LC_ALL, LC_MESSAGES, LANG, the
 * first one set): English for "en...", otherwise Chinese (the default, also
 * for the C locale: the counters are Chinese). */
enum sh_lang sh_i18n_lang_default(void);

/* Chooses the catalog: binds the text domain to the first directory that
 * holds zh_CN/LC_MESSAGES/sanhe.mo of $SANHE_LOCALEDIR, the installed
 * prefix next to the program (BIN/../share/locale), the configured install
 * directory and the build tree; and selects lang. Output is UTF-8 whatever
 * the locale's charset. Returns 0, or -1 when Chinese was asked and no
 * catalog was found (the messages then stay English). */
int sh_i18n_init(enum sh_lang lang);

/* The language sh_i18n_init chose last. */
enum sh_lang sh_i18n_lang(void);

/* The directory bound (for --help and error messages); "" when none. */
const char *sh_i18n_dir(void);

#endif
