#include <libxml/xmlversion.h>
/* Debian's libxml2 is built with ICU; its ICU headers clash with Foundation's own ICU copy. We only use UTF-8. */
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/xmlerror.h>
