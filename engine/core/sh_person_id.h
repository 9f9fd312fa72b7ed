/* Resident identity numbers (GB 11643-1999): validation and masking. */
#ifndef SH_PERSON_ID_H
#define SH_PERSON_ID_H

#include <stdbool.h>
#include <stddef.h>

/* True when id is 17 ASCII digits then a digit or an uppercase 'X', and the
 * last character is the ISO 7064 MOD 11-2 check digit of the first 17. */
bool sh_person_id_valid(const char *id);

/* The check character ('0'..'9' or 'X') of 17 leading digits. */
char sh_person_id_check_char(const char *first17);

/* A form safe for logs and receipts: the first 6 and the last 4 characters
 * kept, the rest as '*' ("330424********0013"). Anything not 18 characters
 * long is masked whole. out must hold 19 bytes. */
void sh_person_id_mask(const char *id, char out[19]);

#endif
