"""Calendar feeds: private iCalendar URLs of a partner's upcoming check-ins and due dates."""
