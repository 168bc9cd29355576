// Test-only: read an .ics file with ical.js as Thunderbird and Nextcloud do; print each VEVENT as JSON.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const text = readFileSync(process.argv[2], "utf8");
const root = new ICAL.Component(ICAL.parse(text));
// Register the file's own VTIMEZONEs, as the clients do, so TZID references resolve to them.
for (const vtz of root.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(new ICAL.Timezone(vtz));
}
const out = root.getAllSubcomponents("vevent").map((vevent) => {
  const event = new ICAL.Event(vevent);
  return {
    uid: event.uid,
    sequence: event.sequence,
    status: vevent.getFirstPropertyValue("status"),
    summary: event.summary,
    start: event.startDate.toJSDate().toISOString(),
    end: event.endDate.toJSDate().toISOString(),
    tzid: event.startDate.zone ? event.startDate.zone.tzid : null,
    dtstamp: vevent.getFirstPropertyValue("dtstamp").toJSDate().toISOString(),
  };
});
process.stdout.write(JSON.stringify(out));
