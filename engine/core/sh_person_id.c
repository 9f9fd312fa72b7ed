#include "sh_person_id.h"

#include <string.h>

char sh_person_id_check_char(const char *first17)
{
    static const int weight[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char check[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (first17[i] - '0') * weight[i];
    return check[sum % 11];
}

bool sh_person_id_valid(const char *id)
{
    if (id == NULL || strlen(id) != 18)
        return false;
    for (int i = 0; i < 17; i++)
        if (id[i] < '0' || id[i] > '9')
            return false;
    return id[17] == sh_person_id_check_char(id);
}

void sh_person_id_mask(const char *id, char out[19])
{
    size_t n = id != NULL ? strlen(id) : 0;
    if (n != 18) {
        memcpy(out, "******************", 19);
        return;
    }
    for (size_t i = 0; i < 18; i++)
        out[i] = i < 6 || i >= 14 ? id[i] : '*';
    out[18] = '\0';
}
