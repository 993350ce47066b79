# Textos públicos que escribe el propio servidor Civic311.

## Respuestas a una nueva solicitud de servicio

service-notice = Gracias. Su solicitud de { $service } fue enviada a { $department }.
service-notice-expected = Gracias. Su solicitud de { $service } fue enviada a { $department }, que prevé atenderla antes del { $expected }.

## Resúmenes públicos del historial

history-created = Solicitud recibida.
history-routed = Asignada a { $department }.
history-status-changed = El estado cambió a { $status }.
history-duplicate = Cerrada por duplicar la solicitud { $parent }.

## Mensajes de validación

validation-unknown-service = No se encontró el service_code '{ $code }'; GET services muestra los códigos.
validation-description-too-long = La descripción tiene { $length } caracteres; acórtela a { $max } como máximo.
validation-lat-long-pair = Indique lat y long juntos, o ninguno de los dos.
validation-lat-range = La latitud { $value } está fuera de rango; indique un número entre -90 y 90.
validation-long-range = La longitud { $value } está fuera de rango; indique un número entre -180 y 180.
validation-location-required = Este servicio necesita una ubicación; indique lat y long, una dirección o un address_id.
validation-outside-area = El punto ({ $lat }, { $long }) está fuera de { $area }; indique una ubicación dentro de esa zona.
validation-attribute-required = Responda la pregunta obligatoria '{ $code }': { $question }
validation-attribute-unknown = '{ $code }' no es una pregunta del servicio '{ $service }'; la definición del servicio muestra sus preguntas.
validation-attribute-number = '{ $value }' no es un número; indique un número decimal como 12.5.
validation-attribute-datetime = '{ $value }' no es una fecha y hora ISO 8601 con zona horaria; escríbala como 2026-12-04T15:30:00-05:00.
validation-attribute-choice = '{ $value }' no es una de las opciones: { $keys }.
validation-attribute-single = Indique exactamente un valor.
validation-attribute-too-long = La respuesta tiene { $length } caracteres; acórtela a { $max } como máximo.
validation-media-url = '{ $value }' no es una URL http o https.

## Mensajes de telefonía que el producto dice cuando el manifiesto no trae los suyos

telephony-after-hours = El centro 311 de { $city } está cerrado ahora. La base de conocimientos y el portal web en { $portal } responden muchas preguntas, y allí puede reportar un problema a cualquier hora. En caso de emergencia, cuelgue y marque 911.
telephony-queue-unavailable = No podemos atender su llamada ahora. Intente más tarde o reporte su problema en el portal web de la ciudad.
telephony-voicemail-thanks = Gracias. Su mensaje quedó grabado. Adiós.
