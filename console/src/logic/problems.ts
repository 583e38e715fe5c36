import { catalogueOf, fill, type Locale } from "@/i18n";
import type { Messages } from "@/i18n/zh";

type Wording = keyof Messages["validation"];

/**
 * The service's validation wordings the console knows (FluentValidation's defaults and the service's own rules), each
 * with the parts that vary. A message that matches none is shown as the service wrote it.
 */
const KNOWN: Array<[RegExp, Wording]> = [
  [/^validation failed$/, "failed"],
  [/^invalid parameters$/, "invalidParameters"],
  [/^invalid filters$/, "invalidFilters"],
  [/^invalid keys$/, "invalidKeys"],
  [/^'(?<field>[^']+)' must not be empty\.$/, "notEmpty"],
  [/^'(?<field>[^']+)' must be between (?<min>\d+) and (?<max>\d+) characters\. You entered (?<length>\d+) characters\.$/, "lengthBetween"],
  [/^'(?<field>[^']+)' must be between (?<from>\S+) and (?<to>\S+)\. You entered (?<value>.*)\.$/, "between"],
  [/^The length of '(?<field>[^']+)' must be (?<max>\d+) characters or fewer\. You entered (?<length>\d+) characters\.$/, "maxLength"],
  [/^The length of '(?<field>[^']+)' must be at least (?<min>\d+) characters\. You entered (?<length>\d+) characters\.$/, "minLength"],
  [/^'(?<field>[^']+)' must be greater than or equal to '(?<value>[^']*)'\.$/, "atLeast"],
  [/^'(?<field>[^']+)' must be less than or equal to '(?<value>[^']*)'\.$/, "atMost"],
  [/^'(?<field>[^']+)' must be greater than '(?<value>[^']*)'\.$/, "greaterThan"],
  [/^'(?<field>[^']+)' must be less than '(?<value>[^']*)'\.$/, "lessThan"],
  [/^'(?<field>[^']+)' is not in the correct format\.$/, "format"],
  [/^'(?<field>[^']+)' is not a valid email address\.$/, "email"],
  [/^The specified condition was not met for '(?<field>[^']+)'\.$/, "condition"],
  [/^passwords do not match$/, "passwordsDiffer"],
  [/^username must be 3-32 letters, digits or underscores$/, "username"],
  [/^email must be a valid e-mail address$/, "emailAddress"],
  [/^new_password must differ from current_password$/, "newPasswordSame"],
  [/^role must be user or admin$/, "role"],
  [/^default_timeout must be between 10 and 86400 seconds$/, "defaultTimeout"],
  [/^host must be a host name or an IP address$/, "host"],
  [/^database must be a plain schema name \(letters, digits, _ and \$\)$/, "database"],
  [/^schedule_type must be cron, interval or once$/, "scheduleType"],
];

/** A message of a 422 (the envelope's, or a field's) in the console's language, when it is a wording the console knows. */
export function localizedProblem(text: string, language: Locale): string {
  for (const [pattern, wording] of KNOWN) {
    const hit = pattern.exec(text);
    if (hit) return fill(catalogueOf(language).validation[wording], { ...hit.groups });
  }
  return text;
}
