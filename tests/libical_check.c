/* Test-only: read an .ics file with libical as Evolution and other libical clients do; print each problem
 * libical finds (parse errors, then RFC 5545/5546 restrictions for the calendar's METHOD) as one line on
 * stdout. Exit 0 when there are none, 1 when there are, 2 when the file cannot be read. */
#include <stdio.h>
#include <stdlib.h>
#include <libical/ical.h>

static int report(icalcomponent *comp) {
    int found = 0;
    icalproperty *p;
    for (p = icalcomponent_get_first_property(comp, ICAL_XLICERROR_PROPERTY); p;
         p = icalcomponent_get_next_property(comp, ICAL_XLICERROR_PROPERTY)) {
        printf("%s: %s\n", icalcomponent_kind_to_string(icalcomponent_isa(comp)), icalproperty_get_xlicerror(p));
        found++;
    }
    icalcomponent *c;
    for (c = icalcomponent_get_first_component(comp, ICAL_ANY_COMPONENT); c;
         c = icalcomponent_get_next_component(comp, ICAL_ANY_COMPONENT))
        found += report(c);
    return found;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s FILE.ics\n", argv[0]); return 2; }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 2; }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc(n + 1);
    if (!text || fread(text, 1, n, f) != (size_t)n) { fprintf(stderr, "cannot read %s\n", argv[1]); return 2; }
    text[n] = 0;
    fclose(f);
    icalcomponent *cal = icalparser_parse_string(text);
    if (!cal) { printf("VCALENDAR: libical could not parse the file\n"); return 1; }
    /* Restrictions add X-LIC-ERROR properties where the calendar breaks them (e.g. PUBLISH without ORGANIZER). */
    icalrestriction_check(cal);
    int found = report(cal);
    int events = icalcomponent_count_components(cal, ICAL_VEVENT_COMPONENT);
    fprintf(stderr, "%d VEVENT(s), %d problem(s)\n", events, found);
    icalcomponent_free(cal);
    free(text);
    return found ? 1 : 0;
}
