import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Produces the lines of a file (key TAB value) to a topic with the Java client and the given
 * compression.type, in one batch where they fit: what an upstream on the Java client with that
 * setting sends. Run as a single-file source program with the broker's own jars on the class path.
 * Arguments: bootstrap topic compression file.
 */
public class CompressedProducer {
  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.put("bootstrap.servers", args[0]);
    props.put("compression.type", args[2]);
    props.put("linger.ms", "200");
    props.put("batch.size", "1048576");
    props.put("key.serializer", ByteArraySerializer.class.getName());
    props.put("value.serializer", ByteArraySerializer.class.getName());
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
      for (String line : Files.readAllLines(Path.of(args[3]), StandardCharsets.UTF_8)) {
        int tab = line.indexOf('\t');
        byte[] key = line.substring(0, tab).getBytes(StandardCharsets.UTF_8);
        byte[] value = line.substring(tab + 1).getBytes(StandardCharsets.UTF_8);
        producer.send(new ProducerRecord<>(args[1], key, value));
      }
      producer.flush();
    }
  }
}
