// The partner journey, as a TypeScript team writes it over types generated from openapi.yaml.
//
// tests/clients/test_typescript_client.py generates schema.d.ts with openapi-typescript and
// type-checks this file with `tsc --noEmit` under `strict`: a call, body or field that the spec
// does not describe as the server behaves is a compile error. The journey is written the way it
// should work. Where today's spec still gets in the way, the line carries
// `// @ts-expect-error spec: ...` naming the schema at fault; once the spec is fixed, tsc reports
// the directive as unused and the line must lose it.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type Schemas = components["schemas"];
type Api = ReturnType<typeof createClient<paths>>;
type TimelineKinds = NonNullable<
  NonNullable<paths["/api/v1/couple/timeline"]["get"]["parameters"]["query"]>["kinds"]
>;

const PASSWORD = "a generated-client password";

/** The body of a 2xx answer; anything else stops the journey with the problem's detail. */
function ok<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined) {
    throw new Error(`${result.response.status}: ${JSON.stringify(result.error)}`);
  }
  return result.data;
}

/** That a 2xx answer with no body (204) came back. */
function done(result: { error?: unknown; response: Response }): void {
  if (!result.response.ok) {
    throw new Error(`${result.response.status}: ${JSON.stringify(result.error)}`);
  }
}

interface Person {
  email: string;
  api: Api;
}

function signedIn(baseUrl: string, email: string, accessToken: string): Person {
  return {
    email,
    api: createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${accessToken}` } }),
  };
}

function answerFor(prompt: Schemas["Prompt"]): Schemas["AnswerIn"]["value"] {
  if (prompt.kind === "scale") return prompt.max ?? 1;
  const first = prompt.options?.[0]?.value ?? "";
  if (prompt.kind === "choice") return first;
  if (prompt.kind === "multi_choice") return [first];
  return "Said gently.";
}

function measureAnswerFor(item: Schemas["MeasureItem"]): Schemas["MeasureAnswerIn"]["value"] {
  if (item.kind === "scale") return (item.min ?? 0) + 1;
  if (item.kind === "single_choice") return item.options?.[0]?.value ?? "";
  return "Steady.";
}

export async function journey(baseUrl: string): Promise<void> {
  const anonymous = createClient<paths>({ baseUrl });

  async function register(
    email: string,
    display_name: string,
    role: Schemas["Register"]["role"],
  ): Promise<Person> {
    const tokens = ok(
      await anonymous.POST("/api/v1/auth/register", {
        body: { email, password: PASSWORD, display_name, role },
      }),
    );
    return signedIn(baseUrl, email, tokens.access_token);
  }

  async function login(person: Person): Promise<Person> {
    const tokens = ok(
      await anonymous.POST("/api/v1/auth/login", {
        body: { email: person.email, password: PASSWORD },
      }),
    );
    return signedIn(baseUrl, person.email, tokens.access_token);
  }

  // register two partners and a counselor
  const sam = await register("sam@client.example", "Sam", "partner");
  let alex = await register("alex@client.example", "Alex", "partner");
  const dr = await register("dr@client.example", "Dr Lee", "counselor");

  // pair
  const invite = ok(await sam.api.POST("/api/v1/pairing-invites"));
  const couple = ok(
    await alex.api.POST("/api/v1/pairing-invites/accept", {
      body: { code: invite.code },
    }),
  );
  const ids = new Map<string, string>();
  for (const member of couple.members) {
    ids.set(member.display_name, member.id);
  }
  ok(await sam.api.PATCH("/api/v1/couple", { body: { timezone: "Europe/Berlin" } }));

  // check in and reveal, with one private answer
  const checkin = ok(
    await sam.api.POST("/api/v1/couple/checkins", { body: { prompt_set: "daily_pulse" } }),
  );
  const checkinId: string = checkin.id;
  const checkinPath = { path: { checkin_id: checkinId } };
  const prompts: Schemas["Prompt"][] = checkin.prompts;
  const answers = prompts.map((prompt, index): Schemas["AnswerIn"] => ({
    prompt: prompt.key,
    value: answerFor(prompt),
    visibility: index === 0 ? "private" : "shared",
  }));
  ok(
    await alex.api.PUT("/api/v1/checkins/{checkin_id}/answers", {
      params: checkinPath,
      body: { answers, submit: true },
    }),
  );
  const revealed = ok(
    await sam.api.PUT("/api/v1/checkins/{checkin_id}/answers", {
      params: checkinPath,
      body: { answers: answers.map(({ prompt, value }) => ({ prompt, value })), submit: true },
    }),
  );
  const seen = ok(await sam.api.GET("/api/v1/checkins/{checkin_id}", { params: checkinPath }));
  const partnerAnswers: Schemas["AnswerOut"][] = seen.partner?.answers ?? [];
  if (revealed.status !== "revealed" || partnerAnswers.length !== prompts.length - 1) {
    throw new Error("the check-in was not revealed with the shared answers only");
  }

  // schedule a check-in (the scheduler fires it; the test moves its clock)
  const schedule = ok(
    await sam.api.POST("/api/v1/couple/schedules", {
      body: { prompt_set: "daily_pulse", frequency: "daily", local_time: "21:00" },
    }),
  );
  const scheduled = ok(
    await alex.api.GET("/api/v1/couple/checkins", { params: { query: { status: "open" } } }),
  );
  const fired: Schemas["CheckinSummary"][] = scheduled.items;
  console.log(schedule.next_due_at, fired.filter((c) => c.source === "scheduled").length);

  // an agreement, amended under If-Match
  const item: Schemas["ItemIn"] = { category: "plans", text: "We share plans." };
  const drafted = ok(
    await sam.api.POST("/api/v1/couple/agreements", { body: { title: "For now", items: [item] } }),
  );
  const agreementId: string = drafted.id;
  const agreementPath = { path: { agreement_id: agreementId } };
  ok(
    await alex.api.POST("/api/v1/agreements/{agreement_id}/consent", {
      params: agreementPath,
      body: { version: 1 },
    }),
  );
  const agreement = ok(
    await sam.api.GET("/api/v1/agreements/{agreement_id}", { params: agreementPath }),
  );
  const etag: string = agreement.etag;
  ok(
    await sam.api.POST("/api/v1/agreements/{agreement_id}/versions", {
      params: { ...agreementPath, header: { "If-Match": etag } },
      body: { items: [item, { category: "contact", text: "We say who we met." }] },
    }),
  );
  ok(
    await alex.api.POST("/api/v1/agreements/{agreement_id}/consent", {
      params: agreementPath,
      body: { version: 2 },
    }),
  );

  // a guided conversation, to its end
  const alexId = ids.get("Alex");
  if (alexId === undefined) throw new Error("Alex is not a member");
  let talk = ok(
    await alex.api.POST("/api/v1/couple/conversations", {
      body: { template: "processing_a_trigger", roles: { hurt_partner: alexId } },
    }),
  );
  const people = new Map<string, Person>([
    [ids.get("Sam") ?? "", sam],
    [alexId, alex],
  ]);
  const personWith = (id: string): Person => {
    const person = people.get(id);
    if (person === undefined) throw new Error(`${id} is not a member`);
    return person;
  };
  const talkId: string = talk.id;
  const talkPath = { path: { conversation_id: talkId } };
  while (talk.status !== "completed") {
    const step = talk.current_step;
    if (!step) throw new Error("an active conversation has a current step");
    const writers = step.expected_writers.map((p) => personWith(p.id));
    for (const writer of step.writers === "either" ? writers.slice(0, 1) : writers) {
      ok(
        await writer.api.POST("/api/v1/conversations/{conversation_id}/entries", {
          params: talkPath,
          body: { text: "Said gently." },
        }),
      );
    }
    for (const person of [sam, alex]) {
      talk = ok(
        await person.api.POST("/api/v1/conversations/{conversation_id}/ready", {
          params: talkPath,
        }),
      );
    }
  }

  // link a counselor (a fresh login each) and complete an exercise
  const linkCode = ok(await dr.api.POST("/api/v1/counselor/link-codes"));
  const samAgain = await login(sam);
  const link = ok(
    await samAgain.api.POST("/api/v1/couple/counselor-links", {
      body: { code: linkCode.code },
    }),
  );
  alex = await login(alex);
  ok(
    await alex.api.POST("/api/v1/counselor-links/{link_id}/consent", {
      params: { path: { link_id: link.id } },
    }),
  );
  const coupleId: string = couple.id;
  const couplePath = { path: { couple_id: coupleId } };
  const exercise = ok(
    await dr.api.POST("/api/v1/counselor/couples/{couple_id}/exercises", {
      params: couplePath,
      body: { kind: "reflection", prompts: ["What helped?"] },
    }),
  );
  for (const person of [samAgain, alex]) {
    ok(
      await person.api.POST("/api/v1/exercises/{exercise_id}/complete", {
        params: { path: { exercise_id: exercise.id } },
      }),
    );
  }
  const detail = ok(
    await dr.api.GET("/api/v1/counselor/couples/{couple_id}", { params: couplePath }),
  );
  const completed: Schemas["Exercise"][] = detail.exercises;

  // a questionnaire: Dr Lee assigns the GAD-7 once to Sam (the scheduler opens it; the test
  // moves its clock), Sam answers and submits, reads her scores and, after a fresh login,
  // shares them with Dr Lee; Alex cannot open Sam's response
  const samId = ids.get("Sam");
  if (samId === undefined) throw new Error("Sam is not a member");
  const assignment = ok(
    await dr.api.POST("/api/v1/counselor/couples/{couple_id}/measure-assignments", {
      params: couplePath,
      body: { measure: "gad7", partners: [samId], frequency: "once", local_time: "09:00" },
    }),
  );
  const dueAt: string | null | undefined = assignment.partners[0]?.next_due_at;
  const waiting = ok(
    await samAgain.api.GET("/api/v1/me/measure-responses", {
      params: { query: { status: "open" } },
    }),
  );
  const open: Schemas["MeasureResponseSummary"] | undefined = waiting.items.find(
    (r) => r.measure.key === "gad7" && r.source === "assigned",
  );
  if (open === undefined) throw new Error("the assigned questionnaire is not open");
  const responsePath = { path: { response_id: open.id } };
  const opened = ok(
    await samAgain.api.GET("/api/v1/measure-responses/{response_id}", { params: responsePath }),
  );
  const measureAnswers = opened.questionnaire.items.map(
    (item): Schemas["MeasureAnswerIn"] => ({ item: item.key, value: measureAnswerFor(item) }),
  );
  ok(
    await samAgain.api.PUT("/api/v1/measure-responses/{response_id}", {
      params: responsePath,
      body: { answers: measureAnswers.slice(0, 1) },
    }),
  );
  const submitted = ok(
    await samAgain.api.PUT("/api/v1/measure-responses/{response_id}", {
      params: responsePath,
      body: { answers: measureAnswers, submit: true },
    }),
  );
  const band: string | undefined = submitted.band?.key;
  if (submitted.status !== "submitted" || submitted.safety_notice !== null) {
    throw new Error("the questionnaire was not submitted quietly");
  }
  const myScores = ok(
    await samAgain.api.GET("/api/v1/me/measures/{measure_key}/scores", {
      params: { path: { measure_key: "gad7" } },
    }),
  );
  const myPoints: Schemas["ScorePoint"][] = myScores.points;
  const hidden = await alex.api.GET("/api/v1/measure-responses/{response_id}", {
    params: responsePath,
  });
  if (hidden.response.status !== 404) throw new Error("Alex could open Sam's questionnaire");
  const samToShare = await login(sam);
  const choices = ok(await samToShare.api.GET("/api/v1/me/measure-sharing"));
  const choice: Schemas["SharingChoice"] | undefined = choices.counselors[0];
  if (choice === undefined) throw new Error("Dr Lee is not among Sam's counselors");
  ok(
    await samToShare.api.PUT("/api/v1/me/measure-sharing", {
      body: { counselor_link_id: choice.counselor_link_id, share: true },
    }),
  );
  const shared = ok(
    await dr.api.GET("/api/v1/counselor/couples/{couple_id}/measures", { params: couplePath }),
  );
  const sharedPoints: Schemas["SharedPoint"][] = shared.partners.flatMap((partner) =>
    partner.measures.flatMap((series) => series.points),
  );

  // the timeline, filtered by two kinds
  const kinds: TimelineKinds = ["checkin_revealed", "agreement_activated"];
  const timeline = ok(
    await samAgain.api.GET("/api/v1/couple/timeline", { params: { query: { kinds, limit: 100 } } }),
  );
  const events: Schemas["TimelineEvent"][] = timeline.items;

  // notifications
  const feed = ok(await alex.api.GET("/api/v1/me/notifications"));
  const notificationIds: string[] = feed.items.map((n: Schemas["Notification"]) => n.id);
  ok(await alex.api.POST("/api/v1/me/notifications/read", { body: { ids: notificationIds } }));

  // the journal
  const entry = ok(await samAgain.api.POST("/api/v1/me/journal", { body: { text: "Only mine." } }));
  const journal = ok(await samAgain.api.GET("/api/v1/me/journal"));
  const entries: Schemas["JournalEntry"][] = journal.items;

  // the safety check
  const check = ok(await samAgain.api.GET("/api/v1/me/safety-check"));
  const safety: Record<string, "yes" | "no" | "unsure"> = {};
  const questions: Schemas["Question"][] = check.questions;
  for (const question of questions) {
    safety[question.key] = "no";
  }
  const result = ok(await samAgain.api.PUT("/api/v1/me/safety-check", { body: { answers: safety } }));

  // export (a fresh login) and erasure (a fresh login)
  const samForExport = await login(sam);
  const exported = ok(await samForExport.api.GET("/api/v1/me/export"));
  const exportedEmail: string = exported.account.email;
  const alexToErase = await login(alex);
  done(await alexToErase.api.DELETE("/api/v1/me", { body: { password: PASSWORD } }));

  console.log(
    completed.length,
    dueAt,
    band,
    myPoints.length === sharedPoints.length,
    events.length,
    entry.id === entries[0]?.id,
    result.completed_at,
    exportedEmail,
  );
}
