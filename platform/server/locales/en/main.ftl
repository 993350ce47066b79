# Public text the Civic311 server writes itself: replies to constituents,
# public history summaries and validation messages. City-specific text
# (service names, IVR prompts) lives in the tenant manifest instead.

## Replies to a new service request

service-notice = Thank you. Your { $service } request was sent to { $department }.
service-notice-expected = Thank you. Your { $service } request was sent to { $department }, which aims to act on it by { $expected }.

## Public history summaries

history-created = Request received.
history-routed = Assigned to { $department }.
history-status-changed = Status changed to { $status }.
history-duplicate = Closed as a duplicate of request { $parent }.

## Validation messages

validation-unknown-service = service_code '{ $code }' was not found; GET services lists the codes.
validation-description-too-long = The description has { $length } characters; shorten it to at most { $max }.
validation-lat-long-pair = Give both lat and long, or neither.
validation-lat-range = Latitude { $value } is out of range; give a number from -90 to 90.
validation-long-range = Longitude { $value } is out of range; give a number from -180 to 180.
validation-location-required = This service needs a location; give lat and long, an address or an address_id.
validation-outside-area = The point ({ $lat }, { $long }) is outside { $area }; give a location inside it.
validation-attribute-required = Answer the required question '{ $code }': { $question }
validation-attribute-unknown = '{ $code }' is not a question of service '{ $service }'; the service definition lists its questions.
validation-attribute-number = '{ $value }' is not a number; give a decimal number such as 12.5.
validation-attribute-datetime = '{ $value }' is not an ISO 8601 date and time with a zone; write it like 2026-12-04T15:30:00-05:00.
validation-attribute-choice = '{ $value }' is not one of the choices: { $keys }.
validation-attribute-single = Give exactly one value.
validation-attribute-too-long = The answer has { $length } characters; shorten it to at most { $max }.
validation-media-url = '{ $value }' is not an http or https URL.

## Telephony prompts the product speaks when the tenant's manifest has none

telephony-after-hours = The { $city } 311 center is closed now. Our knowledge base and the web portal at { $portal } answer many questions, and you can report a problem there at any time. For emergencies, hang up and dial 911.
telephony-queue-unavailable = We cannot take your call right now. Please try again later, or report your problem on the city's web portal.
telephony-voicemail-thanks = Thank you. Your message was recorded. Goodbye.
